/**
 * What Tunnel Guard learned, kept in the embedded SQLite store (`<dataDir>/dnsward.db`,
 * better-sqlite3, WAL): per snapshot name, a head row pointing at a complete set of part rows,
 * written in short transactions and switched in one (see writeSnapshot), so a crash (even
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
import { openDatabase } from './sqlite-database.js';
import { STATE_SCHEMA } from './state-schema.js';
import { Worker } from 'node:worker_threads';
import type { SnapshotParts } from '../guard/guard-snapshot.js';
import type { AuditEntry } from './audit-entry.js';
import { LocalListStore } from './local-list-store.js';

const MAX_AUDIT = 100_000;

export type { AuditEntry } from './audit-entry.js';

const AUDIT_COLUMNS = 'at, who, action, subject, detail, comment';

/** A row as read: a NULL comment (none given, or an entry from before comments) is left out. */
function auditEntry(row: AuditEntry & { comment: string | null }): AuditEntry {
  if (row.comment !== null) return row;
  const { comment: _none, ...rest } = row;
  return rest;
}

/** Opens (and migrates) the state file; every connection to it goes through here. */
export function openStore(path: string): Database.Database {
  const db = openDatabase(path, STATE_SCHEMA);
  db.pragma('synchronous = NORMAL');
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

const byteLength = (data: Uint8Array | Uint8Array[]) =>
  Array.isArray(data) ? data.reduce((n, d) => n + d.byteLength, 0) : data.byteLength;

/**
 * The buffers a message may move to the writer thread instead of copying: those that own their
 * whole ArrayBuffer (Node's shared pool of small buffers must not be moved).
 */
export function transferable(rows: PartRows): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const [, data] of rows) {
    for (const d of Array.isArray(data) ? data : [data]) {
      if (
        d.buffer instanceof ArrayBuffer &&
        d.byteOffset === 0 &&
        d.byteLength === d.buffer.byteLength &&
        d.byteLength > 0
      )
        out.add(d.buffer);
    }
  }
  return [...out];
}

/** Rows per write transaction, in bytes: the write lock is held about as long as writing this takes. */
const TRANSACTION_BYTES = 1024 * 1024;

/**
 * Writes a snapshot as a new set of part rows in many short transactions, then points the
 * snapshot's head at it in one small transaction, then deletes the old set a few rows at a
 * time. So the write lock is never held for long (a 160 MB snapshot in one transaction held it
 * for 1–3 s, and a small write from the event loop, an operator change, failed "database is
 * locked" meanwhile), and a crash at any point, even `kill -9`, leaves the head on a complete
 * set: the previous one or the new one. Sets left by a crash are deleted by the next write.
 */
export function writeSnapshot(db: Database.Database, name: string, rows: PartRows, savedAt: number): number {
  const bytes = rows.reduce((n, [, data]) => n + byteLength(data), 0);
  const staged = `${name}@${savedAt}-${Math.random().toString(36).slice(2, 8)}`;
  const head = () =>
    db.prepare('SELECT saved_at, parts FROM guard_snapshot WHERE name = ?').get(name) as
      { saved_at: number; parts: string | null } | undefined;
  deleteSets(db, name, [head()?.parts ?? name, staged]);
  const insert = db.prepare('INSERT INTO guard_part (name, part, data) VALUES (?, ?, ?)');
  let batch: Array<[string, Uint8Array]> = [];
  let batchBytes = 0;
  let count = 0;
  const flush = () => {
    db.transaction(() => {
      for (const [part, data] of batch) insert.run(staged, part, data);
    }).immediate();
    count += batch.length;
    batch = [];
    batchBytes = 0;
  };
  const add = (part: string, data: Uint8Array) => {
    batch.push([part, data]);
    batchBytes += data.byteLength;
    if (batchBytes >= TRANSACTION_BYTES) flush();
  };
  for (const [part, data] of rows) {
    if (!Array.isArray(data)) {
      add(part, data);
      continue;
    }
    // A table's chunks go in pieces of about TRANSACTION_BYTES, joined again at load.
    let piece: Uint8Array[] = [];
    let pieceBytes = 0;
    let index = 0;
    const cut = () => {
      add(`${part}#${String(index++).padStart(6, '0')}`, Buffer.concat(piece));
      piece = [];
      pieceBytes = 0;
    };
    for (const chunk of data) {
      piece.push(chunk);
      pieceBytes += chunk.byteLength;
      if (pieceBytes >= TRANSACTION_BYTES) cut();
    }
    if (piece.length > 0 || index === 0) cut();
  }
  if (batch.length > 0) flush();
  const previous = db
    .transaction(() => {
      const current = head();
      // A newer snapshot already in place (a save at shutdown overtook this one), or this set lost
      // rows to such a save's clean-up: keep what is there.
      if (current !== undefined && current.saved_at > savedAt) return staged;
      const written = (db.prepare('SELECT COUNT(*) AS n FROM guard_part WHERE name = ?').get(staged) as { n: number })
        .n;
      if (written !== count) throw new Error(`snapshot ${name}: ${written} of ${count} parts found at commit`);
      db.prepare('INSERT OR REPLACE INTO guard_snapshot (name, saved_at, bytes, parts) VALUES (?, ?, ?, ?)').run(
        name,
        savedAt,
        bytes,
        staged,
      );
      return current?.parts ?? name;
    })
    .immediate();
  deleteSets(db, name, [head()?.parts ?? name], previous);
  return bytes;
}

/** Deletes a snapshot's part sets other than `keep` (or only `only`), one row (at most a few MB) per transaction. */
function deleteSets(db: Database.Database, name: string, keep: string[], only?: string): void {
  const sets =
    only !== undefined
      ? [only]
      : (
          db
            .prepare('SELECT DISTINCT name FROM guard_part WHERE name = ? OR instr(name, ?) = 1')
            .all(name, `${name}@`) as Array<{ name: string }>
        ).map((r) => r.name);
  const step = db.prepare(
    'DELETE FROM guard_part WHERE rowid IN (SELECT rowid FROM guard_part WHERE name = ? LIMIT 1)',
  );
  for (const set of sets) {
    if (keep.includes(set)) continue;
    for (let i = 0; i < 1_000_000; i++) if (db.transaction(() => step.run(set).changes).immediate() === 0) break;
  }
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
  /** The console's local allow and deny lists, audited in the same file. */
  readonly lists: LocalListStore;

  constructor(
    readonly path: string,
    private readonly onError: (error: unknown) => void,
  ) {
    this.db = openStore(path);
    // The commit that finds the WAL over its limit copies it into the database: after a
    // snapshot that is 100+ MB, so it is left to the writer thread's commits, not this thread's.
    this.db.pragma('wal_autocheckpoint = 0');
    this.lists = new LocalListStore(this.db, (entry) => this.audit(entry));
  }

  load(name: string): { parts: SnapshotParts; savedAt: number; bytes: number } | undefined {
    const head = this.db.prepare('SELECT saved_at, bytes, parts FROM guard_snapshot WHERE name = ?').get(name) as
      { saved_at: number; bytes: number; parts: string | null } | undefined;
    if (head === undefined) return undefined;
    const rows = this.db
      .prepare('SELECT part, data FROM guard_part WHERE name = ? ORDER BY part')
      .all(head.parts ?? name) as Array<{ part: string; data: Buffer }>;
    const empty = new Uint8Array(0);
    const parts: SnapshotParts = { meta: '', blobs: {}, tables: { domains: empty, pairs: empty, clients: empty } };
    const pieces: Record<string, Buffer[]> = {};
    for (const { part, data } of rows) {
      if (part === 'meta') parts.meta = data.toString('utf8');
      else if (part.startsWith('blob:')) parts.blobs[part.slice(5)] = new Uint8Array(data);
      // `table:NAME` (one blob) or `table:NAME#000000`, … (pieces, in order: the part names sort so).
      else if (part.startsWith('table:')) (pieces[part.slice(6).split('#')[0]] ??= []).push(data);
    }
    for (const [table, list] of Object.entries(pieces))
      parts.tables[table as keyof SnapshotParts['tables']] = new Uint8Array(
        list.length === 1 ? list[0] : Buffer.concat(list),
      );
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
    // IMMEDIATE: wait (busy timeout) for the writer thread's short transaction rather than fail.
    this.db
      .transaction(() => {
        this.db
          .prepare('INSERT OR REPLACE INTO guard_operator (name, saved_at, data) VALUES (?, ?, ?)')
          .run(name, Date.now(), data);
        if (entry !== undefined) this.audit(entry);
      })
      .immediate();
    this.operatorSaves++;
  }

  /** The operator's decisions saved by saveOperator, or undefined (none yet, or a store from before they were kept apart). */
  loadOperator(name: string): unknown {
    const row = this.db.prepare('SELECT data FROM guard_operator WHERE name = ?').get(name) as
      { data: string } | undefined;
    return row === undefined ? undefined : JSON.parse(row.data);
  }

  audit(entry: AuditEntry): void {
    // IMMEDIATE, like saveOperator: a deferred write that waited for the writer thread fails.
    this.db
      .transaction(() => {
        this.db
          .prepare(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`)
          .run(entry.at, entry.who, entry.action, entry.subject, entry.detail, entry.comment ?? null);
        this.db.prepare('DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?').run(MAX_AUDIT);
      })
      .immediate();
  }

  auditLog(limit = 100): AuditEntry[] {
    return (
      this.db.prepare(`SELECT ${AUDIT_COLUMNS} FROM audit ORDER BY id DESC LIMIT ?`).all(limit) as Array<
        AuditEntry & { comment: string | null }
      >
    )
      .reverse()
      .map(auditEntry);
  }

  /** The newest entries about any of these subjects (a domain, client addresses), oldest first. */
  auditFor(subjects: readonly string[], limit = 100): AuditEntry[] {
    if (subjects.length === 0) return [];
    const marks = subjects.map(() => '?').join(', ');
    return (
      this.db
        .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE subject IN (${marks}) ORDER BY id DESC LIMIT ?`)
        .all(...subjects, limit) as Array<AuditEntry & { comment: string | null }>
    )
      .reverse()
      .map(auditEntry);
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
