/**
 * The one way dnsward opens its SQLite files (better-sqlite3, WAL). Each file has a schema: an
 * ordered list of forward migrations, and the number of the last one applied is kept in the
 * file itself (`PRAGMA user_version`). Opening for writing applies the missing ones in one
 * immediate transaction, so two connections opening the same file at once (the main thread and
 * a writer thread) migrate it once, and a crash mid-way leaves the old version whole.
 *
 * Files written before versioning have user_version 0: migration 1 of each schema is the
 * release's tables as `CREATE … IF NOT EXISTS`, so it creates a new file and adopts an old one
 * alike. A file from a newer dnsward (a version this build does not know) is refused, never
 * written: a downgrade must not corrupt what the newer release wrote.
 */
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../util/private-files.js';

export interface Migration {
  /** 1, 2, 3, … in order, never renumbered once released. */
  version: number;
  /** What it changes, for the log and errors. */
  summary: string;
  up(db: Database.Database): void;
}

export interface DatabaseSchema {
  /** The file's role, for messages: "learned state", "query log". */
  name: string;
  migrations: readonly Migration[];
}

export interface OpenOptions {
  readonly?: boolean;
  /** Told of each migration applied (the server logs them). */
  onMigrate?: (from: number, to: number, summary: string) => void;
}

export class SchemaError extends Error {}

/** The version a schema's last migration gives a file. */
export function latestVersion(schema: DatabaseSchema): number {
  return schema.migrations.length === 0 ? 0 : schema.migrations[schema.migrations.length - 1].version;
}

/**
 * Opens (creating it private when missing, unless read-only) and migrates `path`. Read-only
 * opens never migrate; they only refuse a file newer than this build.
 */
export function openDatabase(path: string, schema: DatabaseSchema, options: OpenOptions = {}): Database.Database {
  if (options.readonly === true) {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      checkNotNewer(db, path, schema);
    } catch (err) {
      db.close();
      throw err;
    }
    return db;
  }
  ensurePrivateFile(path);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // Another connection may hold the write lock while it migrates or writes a snapshot piece.
    db.pragma('busy_timeout = 5000');
    migrate(db, path, schema, options.onMigrate);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Applies the migrations newer than the file's version, in one immediate transaction. */
export function migrate(
  db: Database.Database,
  path: string,
  schema: DatabaseSchema,
  onMigrate?: OpenOptions['onMigrate'],
): number {
  checkOrder(schema);
  if (versionOf(db) === latestVersion(schema)) return 0;
  let applied = 0;
  db.transaction(() => {
    // Read again under the write lock: another connection may have migrated meanwhile.
    const from = checkNotNewer(db, path, schema);
    for (const m of schema.migrations) {
      if (m.version <= from) continue;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      onMigrate?.(m.version - 1, m.version, m.summary);
      applied++;
    }
  }).immediate();
  return applied;
}

export function versionOf(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function checkNotNewer(db: Database.Database, path: string, schema: DatabaseSchema): number {
  const version = versionOf(db);
  const latest = latestVersion(schema);
  if (version > latest) {
    throw new SchemaError(
      `${path}: ${schema.name} has schema version ${version}, newer than this dnsward knows (${latest}): it was written by a newer release; run that release, or restore a backup made before the upgrade`,
    );
  }
  return version;
}

function checkOrder(schema: DatabaseSchema): void {
  schema.migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${schema.name}: migration ${i + 1} is numbered ${m.version}`);
  });
}

/** Whether a table has a column (for migrations that adopt files some releases already changed). */
export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some((c) => c.name === column);
}
