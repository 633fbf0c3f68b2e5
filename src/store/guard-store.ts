/**
 * What Tunnel Guard learned, kept in the embedded SQLite store (`<dataDir>/dnsward.db`,
 * better-sqlite3, WAL): one row per snapshot name, replaced in a transaction, so a crash (even
 * `kill -9`) leaves the previous snapshot or the new one, never half of one. Periodic saves
 * are written by a worker thread (guard-store-worker.ts), off the event loop; the last save at
 * shutdown is written directly. Operator changes go to an audit table.
 *
 * Size: one snapshot per process, whose size follows the guard's caps (see docs/DETECTION.md);
 * the audit table keeps its newest MAX_AUDIT rows.
 */
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../util/private-files.js';
import { Worker } from 'node:worker_threads';
import type { SnapshotParts } from '../guard/guard-snapshot.js';

const MAX_AUDIT = 100_000;

export interface AuditEntry {
  at: number;
  who: string;
  action: string;
  subject: string;
  detail: string;
}

export function openStore(path: string): Database.Database {
  ensurePrivateFile(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS guard_snapshot (name TEXT PRIMARY KEY, saved_at INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS guard_part (name TEXT NOT NULL, part TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (name, part));
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);`);
  return db;
}

/** A snapshot as rows: one per part, all replaced in one transaction. */
export type PartRows = Array<[string, Uint8Array]>;

export function partRows(parts: SnapshotParts): PartRows {
  return [
    ['meta', Buffer.from(parts.meta, 'utf8')],
    ...Object.entries(parts.blobs).map(([k, v]): [string, Uint8Array] => [`blob:${k}`, v]),
    ...Object.entries(parts.tables).map(([k, v]): [string, Uint8Array] => [`table:${k}`, v]),
  ];
}

export function writeSnapshot(db: Database.Database, name: string, rows: PartRows, savedAt: number): number {
  const bytes = rows.reduce((n, [, data]) => n + data.byteLength, 0);
  db.transaction(() => {
    db.prepare('DELETE FROM guard_part WHERE name = ?').run(name);
    const insert = db.prepare('INSERT INTO guard_part (name, part, data) VALUES (?, ?, ?)');
    for (const [part, data] of rows) insert.run(name, part, data);
    db.prepare('INSERT OR REPLACE INTO guard_snapshot (name, saved_at, bytes) VALUES (?, ?, ?)').run(name, savedAt, bytes);
  })();
  return bytes;
}

export class GuardStore {
  private readonly db: Database.Database;
  private worker: Worker | null = null;
  private writing = false;
  saves = 0;
  skippedSaves = 0;
  lastSaveBytes = 0;
  lastSaveMs = 0;

  constructor(readonly path: string, private readonly onError: (error: unknown) => void) {
    this.db = openStore(path);
  }

  load(name: string): { parts: SnapshotParts; savedAt: number; bytes: number } | undefined {
    const head = this.db.prepare('SELECT saved_at, bytes FROM guard_snapshot WHERE name = ?').get(name) as { saved_at: number; bytes: number } | undefined;
    if (head === undefined) return undefined;
    const rows = this.db.prepare('SELECT part, data FROM guard_part WHERE name = ?').all(name) as Array<{ part: string; data: Buffer }>;
    const empty = new Uint8Array(0);
    const parts: SnapshotParts = { meta: '', blobs: {}, tables: { domains: empty, pairs: empty, clients: empty } };
    for (const { part, data } of rows) {
      if (part === 'meta') parts.meta = data.toString('utf8');
      else if (part.startsWith('blob:')) parts.blobs[part.slice(5)] = new Uint8Array(data);
      else if (part.startsWith('table:')) parts.tables[part.slice(6) as keyof SnapshotParts['tables']] = new Uint8Array(data);
    }
    return { parts, savedAt: head.saved_at, bytes: head.bytes };
  }

  /** True while a background write is in flight (a new one would be skipped). */
  get busy(): boolean {
    return this.writing;
  }

  /** Hands a snapshot to the writer thread; a save still in progress makes this one skip (counted). */
  saveInBackground(name: string, parts: SnapshotParts): void {
    if (this.writing) {
      this.skippedSaves++;
      return;
    }
    this.worker ??= this.startWorker();
    this.writing = true;
    const rows = partRows(parts);
    this.lastSaveBytes = rows.reduce((n, [, d]) => n + d.byteLength, 0);
    this.worker.postMessage({ name, rows, savedAt: Date.now() }, rows.map(([, d]) => d.buffer as ArrayBuffer).filter((b, i, all) => all.indexOf(b) === i && b.byteLength > 0 && !(b instanceof SharedArrayBuffer)));
  }

  /** Writes on this thread: at shutdown and for operator changes, when waiting is right. */
  saveNow(name: string, parts: SnapshotParts): void {
    const started = performance.now();
    this.lastSaveBytes = writeSnapshot(this.db, name, partRows(parts), Date.now());
    this.saves++;
    this.lastSaveMs = performance.now() - started;
  }

  audit(entry: AuditEntry): void {
    this.db.prepare('INSERT INTO audit (at, who, action, subject, detail) VALUES (?, ?, ?, ?, ?)').run(entry.at, entry.who, entry.action, entry.subject, entry.detail);
    this.db.prepare('DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?').run(MAX_AUDIT);
  }

  auditLog(limit = 100): AuditEntry[] {
    return (this.db.prepare('SELECT at, who, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?').all(limit) as AuditEntry[]).reverse();
  }

  async close(): Promise<void> {
    if (this.worker !== null) {
      await this.worker.terminate();
      this.worker = null;
    }
    this.db.close();
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./guard-store-worker.js', import.meta.url), { workerData: { path: this.path } });
    worker.on('message', (m: { ok: boolean; ms: number; error?: string }) => {
      this.writing = false;
      if (m.ok) {
        this.saves++;
        this.lastSaveMs = m.ms;
      } else this.onError(new Error(`guard snapshot not saved: ${m.error}`));
    });
    worker.on('error', (error) => {
      this.writing = false;
      this.worker = null;
      this.onError(error);
    });
    worker.unref();
    return worker;
  }
}
