/**
 * The query log and the security-event history in the embedded SQLite store
 * (`<dataDir>/querylog.db`, a file of its own so its steady writes never wait on the guard's
 * snapshot transactions). Written only by the query-log worker thread; read by the same thread
 * for the server (console, control socket) and directly, read-only, by `dnsward queries` and
 * `dnsward events` (WAL lets readers and the writer run at once).
 *
 * Retention: rows older than maxAge go, and while the live data (pages in use) exceed maxSize
 * the oldest queries go first, then the oldest events, then the oldest hours of statistics.
 * Freed pages are reused, so the file stays near maxSize. The schema and its migrations are
 * store/querylog-schema.ts; the hourly statistics, query-stats-store.ts.
 */
import type Database from 'better-sqlite3';
import type { SecurityEvent } from '../events/security-event.js';
import type { QueryRecord } from './query-record.js';

export type { QueryRecord } from './query-record.js';
import { openDatabase } from '../store/sqlite-database.js';
import { QUERYLOG_SCHEMA } from '../store/querylog-schema.js';
import { hourOf, type QueryCount, QueryStatsWriter } from './query-stats-store.js';

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

/** The console's search (GET /api/queries): newest first, a page at a time. */
export interface QuerySearch {
  /** Part of the name (any case); with `prefix`, its start. */
  q?: string;
  prefix?: boolean;
  /** A registered domain (everything under it) or an exact name. */
  domain?: string;
  client?: string;
  /** The action (response type): answered, cached, blocked, … */
  action?: string;
  qtype?: number;
  since?: number;
  until?: number;
  /** Rows older than this one (the last row of the previous page). */
  before?: { t: number; id: number };
  offset?: number;
  limit: number;
}

export type SearchedQuery = QueryRecord & { id: number };

export interface EventFilter {
  since?: number;
  until?: number;
  client?: string;
  domain?: string;
  /** One event type, or any of several. */
  type?: string | string[];
  incident?: string;
  /** Events at least this severe (1–10). */
  minSeverity?: number;
  limit?: number;
}

export const MAX_LIMIT = 10_000;

export class QueryLogStore {
  private readonly db: Database.Database;
  private readonly insertQuery: Database.Statement | null;
  private readonly insertEvent: Database.Statement | null;
  private readonly stats: QueryStatsWriter | null;

  constructor(
    readonly path: string,
    readonly readonly_ = false,
  ) {
    this.db = openDatabase(path, QUERYLOG_SCHEMA, { readonly: readonly_ });
    if (!readonly_) {
      this.db.pragma('synchronous = NORMAL');
      // A bigger page cache and fewer checkpoints: each commit dirties index pages all over
      // the client and domain indexes (bench/query-log-bench.ts). Bounds: 32 MiB of cache in the
      // writer thread, a WAL of about 40 MiB between checkpoints.
      this.db.pragma('cache_size = -32768');
      this.db.pragma('wal_autocheckpoint = 10000');
      this.insertQuery = this.db.prepare(
        'INSERT INTO queries (t, client, transport, qname, domain, qtype, rcode, type, reason, upstream, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      this.insertEvent = this.db.prepare(
        'INSERT OR IGNORE INTO events (id, t, type, severity, client, domain, incident, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      this.stats = new QueryStatsWriter(this.db);
    } else {
      this.insertQuery = null;
      this.insertEvent = null;
      this.stats = null;
    }
  }

  /** The connection, for the statistics' reads (query-stats-store.ts). */
  get database(): Database.Database {
    return this.db;
  }

  /**
   * Writes a batch in one transaction: the rows, the events, and the hourly statistics of the
   * rows and of `counted`, the queries kept only as a count (not logged as rows by
   * queryLog.mode, or folded into counts while the writer was behind), so statistics count every
   * query exactly.
   */
  write(queries: QueryRecord[], events: SecurityEvent[], counted: readonly QueryCount[] = []): void {
    const iq = this.insertQuery!;
    const ie = this.insertEvent!;
    const stats = this.stats!;
    this.db.transaction(() => {
      for (const q of queries) {
        iq.run(
          q.t,
          q.client,
          q.transport,
          q.qname,
          q.domain,
          q.qtype,
          q.rcode,
          q.type,
          q.reason,
          q.upstream,
          q.latencyMs,
        );
        stats.add(q.t, q.client, q.domain, q.type, 1);
      }
      for (const c of counted) stats.add(c.t, c.client, c.domain, c.type, c.n);
      stats.commit();
      for (const e of events)
        ie.run(
          e.id,
          Date.parse(e.time),
          e.type,
          e.severity,
          e.client ?? null,
          e.domain ?? null,
          e.incident ?? null,
          JSON.stringify(e),
        );
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
    // Statistics go by whole hours: the hour the cutoff falls in stays until it is all past.
    this.stats!.retain(hourOf(cutoff));
    // Bounded: each round deletes a tenth of what is left (at least 1,000 rows).
    for (let round = 0; round < 50 && this.liveBytes() > maxBytes; round++) {
      const table =
        (this.db.prepare('SELECT COUNT(*) AS n FROM queries').get() as { n: number }).n > 0 ? 'queries' : 'events';
      const n = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      if (n === 0) {
        // Only statistics are left, and they are still too many: the oldest hour goes.
        if (!this.stats!.dropOldestHour()) break;
        continue;
      }
      const take = Math.max(1000, Math.ceil(n / 10));
      deleted += this.db
        .prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} ORDER BY t LIMIT ?)`)
        .run(take).changes;
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
    if (f.type !== undefined) {
      where.push('type = ?');
      args.push(f.type);
    }
    const sql = `SELECT t, client, transport, qname, domain, qtype, rcode, type, reason, upstream, latency AS latencyMs FROM queries${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, clampLimit(f.limit)) as QueryRecord[];
  }

  /**
   * Newest first, ties by id, so a cursor (the last row's t and id) pages without gaps or
   * repeats while rows are written. Plans: a client, a domain or an action by their (…, t)
   * indexes; a name (substring or prefix) walks the time index back from the newest and stops
   * at the page's last row, so a common one answers at once and a rare one costs a scan of the
   * window asked (bench/query-log-page.ts measures it; querylog-schema.ts says why no name index).
   */
  search(f: QuerySearch): { rows: SearchedQuery[]; more: boolean } {
    const { where, args } = commonConditions(f);
    if (f.q !== undefined && f.q !== '') {
      const q = f.q.toLowerCase();
      if (f.prefix === true) {
        // Names starting with q sort from q to q followed by U+FFFF.
        where.push('qname >= ? AND qname < ?');
        args.push(q, `${q}\uffff`);
      } else {
        where.push('instr(qname, ?) > 0');
        args.push(q);
      }
    }
    if (f.domain !== undefined) {
      // A name's registered domain is one of its suffixes: the IN lets the domain index find
      // both readings (the OR alone would scan every row, qname having no index).
      const d = f.domain.toLowerCase().replace(/\.$/, '');
      const labels = d.split('.');
      const suffixes = labels.map((_, i) => labels.slice(i).join('.'));
      where.push(`domain IN (${suffixes.map(() => '?').join(', ')}) AND (domain = ? OR qname = ?)`);
      args.push(...suffixes, d, d);
    }
    if (f.action !== undefined) {
      where.push('type = ?');
      args.push(f.action);
    }
    if (f.qtype !== undefined) {
      where.push('qtype = ?');
      args.push(f.qtype);
    }
    if (f.before !== undefined) {
      // Written so the t index bounds the walk (an OR of the two would not).
      where.push('t <= ? AND (t < ? OR rowid < ?)');
      args.push(f.before.t, f.before.t, f.before.id);
    }
    const limit = Math.min(MAX_LIMIT, Math.max(1, f.limit));
    const sql = `SELECT rowid AS id, t, client, transport, qname, domain, qtype, rcode, type, reason, upstream, latency AS latencyMs FROM queries${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t DESC, rowid DESC LIMIT ? OFFSET ?`;
    const rows = this.db.prepare(sql).all(...args, limit + 1, Math.max(0, f.offset ?? 0)) as SearchedQuery[];
    const more = rows.length > limit;
    if (more) rows.pop();
    return { rows, more };
  }

  /** Newest first. */
  events(f: EventFilter): SecurityEvent[] {
    const { where, args } = commonConditions(f);
    if (f.domain !== undefined) {
      where.push('domain = ?');
      args.push(f.domain.toLowerCase().replace(/\.$/, ''));
    }
    if (typeof f.type === 'string') {
      where.push('type = ?');
      args.push(f.type);
    } else if (Array.isArray(f.type) && f.type.length > 0) {
      where.push(`type IN (${f.type.map(() => '?').join(', ')})`);
      args.push(...f.type);
    }
    if (f.incident !== undefined) {
      where.push('incident = ?');
      args.push(f.incident);
    }
    if (f.minSeverity !== undefined) {
      where.push('severity >= ?');
      args.push(f.minSeverity);
    }
    const sql = `SELECT body FROM events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, clampLimit(f.limit)) as Array<{ body: string }>).map(
      (r) => JSON.parse(r.body) as SecurityEvent,
    );
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
function commonConditions(f: { since?: number; until?: number; client?: string }): {
  where: string[];
  args: unknown[];
} {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.since !== undefined) {
    where.push('t >= ?');
    args.push(f.since);
  }
  if (f.until !== undefined) {
    where.push('t <= ?');
    args.push(f.until);
  }
  if (f.client !== undefined) {
    where.push('client = ?');
    args.push(f.client);
  }
  return { where, args };
}

function clampLimit(limit: number | undefined): number {
  return Math.min(MAX_LIMIT, Math.max(1, limit ?? 100));
}
