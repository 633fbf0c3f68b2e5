/**
 * The query log and the security-event history in the embedded SQLite store
 * (`<dataDir>/querylog.db`, a file of its own so its steady writes never wait on the guard's
 * snapshot transactions). Written only by the query-log worker thread; read by the same thread
 * for the server (console, control socket) and directly, read-only, by `dnsward queries` and
 * `dnsward events` (WAL lets readers and the writer run at once).
 *
 * Retention: rows older than maxAge go, and while the live data (pages in use) exceed maxSize
 * the oldest queries go first, then the oldest events. Freed pages are reused, so the file stays
 * near maxSize.
 */
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../util/private-files.js';
import type { SecurityEvent } from '../events/security-event.js';

export interface QueryRecord {
  /** Milliseconds since the epoch. */
  t: number;
  client: string;
  transport: string;
  qname: string;
  /** The registered domain (PSL), for "everything under example.com" searches. */
  domain: string;
  qtype: number;
  rcode: number;
  /** answered, cached, blocked, … */
  type: string;
  reason: string;
  upstream: string;
  latencyMs: number;
}

export interface QueryFilter {
  since?: number;
  until?: number;
  client?: string;
  /** A registered domain or an exact name. */
  domain?: string;
  /** Response type (the action): answered, cached, blocked, … */
  type?: string;
  limit?: number;
}

export interface EventFilter {
  since?: number;
  until?: number;
  client?: string;
  domain?: string;
  /** One event type, or any of several. */
  type?: string | string[];
  incident?: string;
  limit?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queries (
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
CREATE INDEX IF NOT EXISTS events_incident ON events (incident);
`;

export const MAX_LIMIT = 10_000;

export class QueryLogStore {
  private readonly db: Database.Database;
  private readonly insertQuery: Database.Statement | null;
  private readonly insertEvent: Database.Statement | null;

  constructor(readonly path: string, readonly readonly_ = false) {
    if (!readonly_) ensurePrivateFile(path);
    this.db = new Database(path, readonly_ ? { readonly: true, fileMustExist: true } : {});
    if (!readonly_) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // A bigger page cache and fewer checkpoints: each commit dirties index pages all over
      // the client and domain indexes (bench/query-log-bench.ts). Bounds: 32 MiB of cache in the
      // writer thread, a WAL of about 40 MiB between checkpoints.
      this.db.pragma('cache_size = -32768');
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.exec(SCHEMA);
      this.insertQuery = this.db.prepare('INSERT INTO queries (t, client, transport, qname, domain, qtype, rcode, type, reason, upstream, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      this.insertEvent = this.db.prepare('INSERT OR IGNORE INTO events (id, t, type, severity, client, domain, incident, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    } else {
      this.insertQuery = null;
      this.insertEvent = null;
    }
  }

  /** Writes a batch in one transaction. */
  write(queries: QueryRecord[], events: SecurityEvent[]): void {
    const iq = this.insertQuery!;
    const ie = this.insertEvent!;
    this.db.transaction(() => {
      for (const q of queries) iq.run(q.t, q.client, q.transport, q.qname, q.domain, q.qtype, q.rcode, q.type, q.reason, q.upstream, q.latencyMs);
      for (const e of events) ie.run(e.id, Date.parse(e.time), e.type, e.severity, e.client ?? null, e.domain ?? null, e.incident ?? null, JSON.stringify(e));
    })();
  }

  /** Bytes of pages in use (the file may be larger by its free pages, which are reused). */
  liveBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** Applies retention; returns the rows deleted. */
  retain(maxAgeMs: number, maxBytes: number, now = Date.now()): number {
    let deleted = 0;
    const cutoff = now - maxAgeMs;
    deleted += this.db.prepare('DELETE FROM queries WHERE t < ?').run(cutoff).changes;
    deleted += this.db.prepare('DELETE FROM events WHERE t < ?').run(cutoff).changes;
    // Bounded: each round deletes a tenth of what is left (at least 1,000 rows).
    for (let round = 0; round < 50 && this.liveBytes() > maxBytes; round++) {
      const table = (this.db.prepare('SELECT COUNT(*) AS n FROM queries').get() as { n: number }).n > 0 ? 'queries' : 'events';
      const n = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      if (n === 0) break;
      const take = Math.max(1000, Math.ceil(n / 10));
      deleted += this.db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} ORDER BY t LIMIT ?)`).run(take).changes;
    }
    return deleted;
  }

  /** Newest first. */
  queries(f: QueryFilter): QueryRecord[] {
    const { where, args } = commonConditions(f);
    if (f.domain !== undefined) {
      const d = f.domain.toLowerCase().replace(/\.$/, '');
      where.push('(domain = ? OR qname = ?)');
      args.push(d, d);
    }
    if (f.type !== undefined) { where.push('type = ?'); args.push(f.type); }
    const sql = `SELECT t, client, transport, qname, domain, qtype, rcode, type, reason, upstream, latency AS latencyMs FROM queries${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, clampLimit(f.limit)) as QueryRecord[];
  }

  /** Newest first. */
  events(f: EventFilter): SecurityEvent[] {
    const { where, args } = commonConditions(f);
    if (f.domain !== undefined) { where.push('domain = ?'); args.push(f.domain.toLowerCase().replace(/\.$/, '')); }
    if (typeof f.type === 'string') { where.push('type = ?'); args.push(f.type); }
    else if (Array.isArray(f.type) && f.type.length > 0) { where.push(`type IN (${f.type.map(() => '?').join(', ')})`); args.push(...f.type); }
    if (f.incident !== undefined) { where.push('incident = ?'); args.push(f.incident); }
    const sql = `SELECT body FROM events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, clampLimit(f.limit)) as Array<{ body: string }>).map((r) => JSON.parse(r.body) as SecurityEvent);
  }

  counts(): { queries: number; events: number; liveBytes: number } {
    return {
      queries: (this.db.prepare('SELECT COUNT(*) AS n FROM queries').get() as { n: number }).n,
      events: (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n,
      liveBytes: this.liveBytes(),
    };
  }

  close(): void {
    this.db.close();
  }
}

/** The conditions queries and events share: a time window and one client. */
function commonConditions(f: { since?: number; until?: number; client?: string }): { where: string[]; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.since !== undefined) { where.push('t >= ?'); args.push(f.since); }
  if (f.until !== undefined) { where.push('t <= ?'); args.push(f.until); }
  if (f.client !== undefined) { where.push('client = ?'); args.push(f.client); }
  return { where, args };
}

function clampLimit(limit: number | undefined): number {
  return Math.min(MAX_LIMIT, Math.max(1, limit ?? 100));
}
