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
import { Worker } from 'node:worker_threads';
import type { GuardSnapshot } from '../guard/guard-snapshot.js';

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
  db.exec(`CREATE TABLE IF NOT EXISTS guard_snapshot (name TEXT PRIMARY KEY, saved_at INTEGER NOT NULL, bytes INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);`);
  return db;
}

export function writeSnapshot(db: Database.Database, name: string, json: string, savedAt: number): void {
  const data = Buffer.from(json, 'utf8');
  db.transaction(() => db.prepare('INSERT OR REPLACE INTO guard_snapshot (name, saved_at, bytes, data) VALUES (?, ?, ?, ?)').run(name, savedAt, data.length, data))();
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

  load(name: string): { snapshot: GuardSnapshot; savedAt: number; bytes: number } | undefined {
    const row = this.db.prepare('SELECT saved_at, bytes, data FROM guard_snapshot WHERE name = ?').get(name) as { saved_at: number; bytes: number; data: Buffer } | undefined;
    if (row === undefined) return undefined;
    return { snapshot: JSON.parse(row.data.toString('utf8')) as GuardSnapshot, savedAt: row.saved_at, bytes: row.bytes };
  }

  /** Hands a snapshot to the writer thread; a save still in progress makes this one skip (counted). */
  saveInBackground(name: string, json: string): void {
    if (this.writing) {
      this.skippedSaves++;
      return;
    }
    this.worker ??= this.startWorker();
    this.writing = true;
    this.lastSaveBytes = json.length;
    this.worker.postMessage({ name, json, savedAt: Date.now() });
  }

  /** Writes on this thread: at shutdown, when waiting is right. */
  saveNow(name: string, json: string): void {
    const started = performance.now();
    writeSnapshot(this.db, name, json, Date.now());
    this.saves++;
    this.lastSaveBytes = json.length;
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
