/**
 * `<dataDir>/querylog.db`: the query log, the security-event history, and the hourly statistics
 * the console's Statistics page reads. Written only by the query-log worker thread
 * (querylog/query-log-worker.ts). Released migrations are never edited: a change is a new one
 * at the end.
 */
import type { DatabaseSchema } from './sqlite-database.js';

export const QUERYLOG_SCHEMA: DatabaseSchema = {
  name: 'query log',
  migrations: [
    {
      version: 1,
      // The tables exactly as the release before schema versions created them, so its files
      // are adopted as they are.
      summary: 'queries and security events',
      up: (db) =>
        db.exec(`CREATE TABLE IF NOT EXISTS queries (
  t INTEGER NOT NULL, client TEXT NOT NULL, transport TEXT NOT NULL, qname TEXT NOT NULL, domain TEXT NOT NULL,
  qtype INTEGER NOT NULL, rcode INTEGER NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL, upstream TEXT NOT NULL, latency REAL NOT NULL);
CREATE INDEX IF NOT EXISTS queries_t ON queries (t);
CREATE INDEX IF NOT EXISTS queries_client ON queries (client, t);
CREATE INDEX IF NOT EXISTS queries_domain ON queries (domain, t);
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, t INTEGER NOT NULL, type TEXT NOT NULL, severity INTEGER NOT NULL,
  client TEXT, domain TEXT, incident TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_t ON events (t);
CREATE INDEX IF NOT EXISTS events_domain ON events (domain, t);
CREATE INDEX IF NOT EXISTS events_client ON events (client, t);
CREATE INDEX IF NOT EXISTS events_incident ON events (incident);`),
    },
    {
      version: 2,
      // Hourly counts kept by the writer as it inserts (every query, also those kept only as a
      // count: see QueryLogStore.write), so 24 h and 7 d views read at most 168 hours of
      // aggregates, never the raw rows. `hour` is ms since the epoch / 3,600,000, floored.
      // Counts from before this migration are not rebuilt: the raw rows may be sampled
      // (queryLog.mode: blocked), so they could not be exact anyway.
      // The new indexes serve one client's statistics, and the console's search by action over
      // time. Names have no index of their own: one on qname cost the writer about a fifth of
      // its rows per second (bench/query-log-bench.ts, 59k → 47k rows/s), and a name search walks
      // the time index instead (see QueryLogStore.search).
      summary: 'hourly statistics (by action, domain, client, blocked domain); search index on action',
      up: (db) =>
        db.exec(`CREATE TABLE query_hour_action (hour INTEGER NOT NULL, action TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, action)) WITHOUT ROWID;
CREATE TABLE query_hour_domain (hour INTEGER NOT NULL, domain TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, domain)) WITHOUT ROWID;
CREATE TABLE query_hour_client (hour INTEGER NOT NULL, client TEXT NOT NULL, action TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, client, action)) WITHOUT ROWID;
CREATE TABLE query_hour_blocked (hour INTEGER NOT NULL, domain TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, domain)) WITHOUT ROWID;
CREATE INDEX query_hour_client_client ON query_hour_client (client, hour);
CREATE INDEX queries_type ON queries (type, t);`),
    },
  ],
};
