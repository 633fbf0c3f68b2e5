/**
 * `<dataDir>/dnsward.db`: what dnsward learned and what operators decided. Tunnel Guard's
 * snapshots (guard-store.ts), the operator row and the audit log, and the console's users and
 * tokens (console/auth/user-store.ts) share this file and this one list of migrations.
 * Released migrations are never edited: a change is a new one at the end.
 */
import type { DatabaseSchema } from './sqlite-database.js';
import { hasColumn } from './sqlite-database.js';

export const STATE_SCHEMA: DatabaseSchema = {
  name: 'learned state',
  migrations: [
    {
      version: 1,
      summary: 'guard snapshots, operator decisions, audit, console users and tokens',
      up: (db) =>
        db.exec(`CREATE TABLE IF NOT EXISTS guard_snapshot (name TEXT PRIMARY KEY, saved_at INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS guard_part (name TEXT NOT NULL, part TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (name, part));
CREATE TABLE IF NOT EXISTS guard_operator (name TEXT PRIMARY KEY, saved_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS console_user (name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS console_token (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, last_used INTEGER);`),
    },
    {
      version: 2,
      // The set of part rows a head points at (NULL: rows under the snapshot's own name, as
      // stores written before snapshots were staged have them). Releases before versioning
      // added it at open, so an adopted file may have it already.
      summary: 'guard snapshots staged as part sets (guard_snapshot.parts)',
      up: (db) => {
        if (!hasColumn(db, 'guard_snapshot', 'parts')) db.exec('ALTER TABLE guard_snapshot ADD COLUMN parts TEXT');
      },
    },
    {
      version: 3,
      // An operator's note on an action (why, ticket), and the incident page's look-up of the
      // entries about one domain or client.
      summary: 'audit comments (audit.comment) and entries by subject',
      up: (db) => {
        if (!hasColumn(db, 'audit', 'comment')) db.exec('ALTER TABLE audit ADD COLUMN comment TEXT');
        db.exec('CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, id)');
      },
    },
    {
      version: 4,
      summary: "the console's local allow and deny lists (local_list)",
      up: (db) =>
        db.exec(
          'CREATE TABLE IF NOT EXISTS local_list (list TEXT NOT NULL, domain TEXT NOT NULL, added_at INTEGER NOT NULL, added_by TEXT NOT NULL, comment TEXT, PRIMARY KEY (list, domain))',
        ),
    },
  ],
};
