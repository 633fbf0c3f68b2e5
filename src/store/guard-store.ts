/**
 * What Tunnel Guard learned, kept in the embedded SQLite store (`<dataDir>/dnsward.db`,
 * better-sqlite3, WAL): one row per snapshot name, replaced in a transaction, so a crash (even
 * `kill -9`) leaves the previous snapshot or the new one, never half of one. Periodic saves
 * are written by a worker thread (guard-store-worker.ts), off the event loop, which also joins
 * the tables' JSON chunks into one blob (joining 100 MB on the event loop stalled DNS for
 * 0.1–0.4 s); the last save at shutdown is written directly. Operator changes (allows,
 * quarantines, unblocks, monitor mode) are one small row of their own, written with their audit
 * entry in one transaction on this thread: durable at once without serialising what was learned.
 *
 * Size: one snapshot per process, whose size follows the guard's caps (see docs/DETECTION.md);
 * the audit table keeps its newest MAX_AUDIT rows.
 */
import Database from 'better-sqlite3';
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
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS guard_snapshot (name TEXT PRIMARY KEY, saved_at INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS guard_part (name TEXT NOT NULL, part TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (name, part));
CREATE TABLE IF NOT EXISTS guard_operator (name TEXT PRIMARY KEY, saved_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);`);
  return db;
}

/**
 * A snapshot as rows: one per part, all replaced in one transaction. A part given as several
 * chunks (a table's JSON) is joined into one blob by whoever writes it: the writer thread.
 */
export type PartRows = Array<[string, Uint8Array | Uint8Array[]]>;

export function partRows(parts: SnapshotParts): PartRows {
  return [
    ['meta', Buffer.from(parts.meta, 'utf8')],
    ...Object.entries(parts.blobs).map(([k, v]): [string, Uint8Array] => [`blob:${k}`, v]),
    ...Object.entries(parts.tables).map(([k, v]): [string, Uint8Array | Uint8Array[]] => [`table:${k}`, v]),
  ];
}

const byteLength = (data: Uint8Array | Uint8Array[]) => (Array.isArray(data) ? data.reduce((n, d) => n + d.byteLength, 0) : data.byteLength);

/**
 * The buffers a message may move to the writer thread instead of copying: those that own their
 * whole ArrayBuffer (Node's shared pool of small buffers must not be moved).
 */
export function transferable(rows: PartRows): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const [, data] of rows) {
    for (const d of Array.isArray(data) ? data : [data]) {
      if (d.buffer instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.byteLength > 0) out.add(d.buffer);
    }
  }
  return [...out];
}

export function writeSnapshot(db: Database.Database, name: string, rows: PartRows, savedAt: number): number {
  const bytes = rows.reduce((n, [, data]) => n + byteLength(data), 0);
  db.transaction(() => {
    db.prepare('DELETE FROM guard_part WHERE name = ?').run(name);
    const insert = db.prepare('INSERT INTO guard_part (name, part, data) VALUES (?, ?, ?)');
    for (const [part, data] of rows) insert.run(name, part, Array.isArray(data) ? Buffer.concat(data) : data);
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
  /** Operator rows written (each one small, on this thread). */
  operatorSaves = 0;
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
    this.lastSaveBytes = rows.reduce((n, [, d]) => n + byteLength(d), 0);
    this.worker.postMessage({ name, rows, savedAt: Date.now() }, transferable(rows));
  }

  /** Writes on this thread: at shutdown, when waiting is right. */
  saveNow(name: string, parts: SnapshotParts): void {
    const started = performance.now();
    this.lastSaveBytes = writeSnapshot(this.db, name, partRows(parts), Date.now());
    this.saves++;
    this.lastSaveMs = performance.now() - started;
  }

  /**
   * Writes the operator's decisions (a small JSON value) and their audit entry in one small
   * transaction on this thread; throws when the disk refuses (full, read-only), having written
   * nothing, so the caller can undo the change it made in memory.
   */
  saveOperator(name: string, state: object, entry?: AuditEntry): void {
    const data = JSON.stringify(state);
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO guard_operator (name, saved_at, data) VALUES (?, ?, ?)').run(name, Date.now(), data);
      if (entry !== undefined) this.audit(entry);
    })();
    this.operatorSaves++;
  }

  /** The operator's decisions saved by saveOperator, or undefined (none yet, or a store from before they were kept apart). */
  loadOperator(name: string): unknown {
    const row = this.db.prepare('SELECT data FROM guard_operator WHERE name = ?').get(name) as { data: string } | undefined;
    return row === undefined ? undefined : JSON.parse(row.data);
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
