/**
 * The query log's hourly statistics (tables of store/querylog-schema.ts, migration 2): per hour,
 * queries by action, by registered domain, by client and action, and blocked queries by domain.
 * The writer adds each batch's counts in the batch's own transaction, summed in memory first so
 * a batch of 4,096 queries costs one upsert per distinct (hour, key), not per query. Readers sum
 * at most 168 hours of these rows, never the raw queries, so a 7-day view costs the same at any
 * query rate.
 */
import type Database from 'better-sqlite3';

export const HOUR_MS = 3_600_000;
/** The actions counted as blocked (the live charts' blocks per second count the same). */
export const BLOCKED_ACTIONS: ReadonlySet<string> = new Set(['blocked', 'quarantined']);
export const STATS_RANGES = { '24h': 24, '7d': 168 } as const;
export type StatsRange = keyof typeof STATS_RANGES;

/** Queries counted without a row of their own: `n` of them, in the hour of `t`. */
export interface QueryCount {
  t: number;
  client: string;
  /** The registered domain; '' when it is not known (counted in totals, not in the domain lists). */
  domain: string;
  type: string;
  n: number;
}

export const hourOf = (t: number): number => Math.floor(t / HOUR_MS);

export class QueryStatsWriter {
  private readonly byAction = new Map<string, number>();
  private readonly byDomain = new Map<string, number>();
  private readonly byClient = new Map<string, number>();
  private readonly byBlocked = new Map<string, number>();
  private readonly upsert: Record<'action' | 'domain' | 'blocked', Database.Statement> & { client: Database.Statement };

  constructor(private readonly db: Database.Database) {
    const two = (table: string, column: string) =>
      db.prepare(
        `INSERT INTO ${table} (hour, ${column}, n) VALUES (?, ?, ?) ON CONFLICT (hour, ${column}) DO UPDATE SET n = n + excluded.n`,
      );
    this.upsert = {
      action: two('query_hour_action', 'action'),
      domain: two('query_hour_domain', 'domain'),
      blocked: two('query_hour_blocked', 'domain'),
      client: db.prepare(
        'INSERT INTO query_hour_client (hour, client, action, n) VALUES (?, ?, ?, ?) ON CONFLICT (hour, client, action) DO UPDATE SET n = n + excluded.n',
      ),
    };
  }

  /** Counts `n` queries; written by the next commit(). */
  add(t: number, client: string, domain: string, action: string, n: number): void {
    const hour = hourOf(t);
    bump(this.byAction, `${hour}\t${action}`, n);
    if (client !== '') bump(this.byClient, `${hour}\t${client}\t${action}`, n);
    if (domain !== '') {
      bump(this.byDomain, `${hour}\t${domain}`, n);
      if (BLOCKED_ACTIONS.has(action)) bump(this.byBlocked, `${hour}\t${domain}`, n);
    }
  }

  /** Writes what add() summed; called inside the batch's transaction. */
  commit(): void {
    for (const [map, statement] of [
      [this.byAction, this.upsert.action],
      [this.byDomain, this.upsert.domain],
      [this.byBlocked, this.upsert.blocked],
      [this.byClient, this.upsert.client],
    ] as const) {
      for (const [key, n] of map) statement.run(...key.split('\t').map((v, i) => (i === 0 ? Number(v) : v)), n);
      map.clear();
    }
  }

  /** Deletes the hours before `firstHour`. */
  retain(firstHour: number): void {
    for (const table of STATS_TABLES) this.db.prepare(`DELETE FROM ${table} WHERE hour < ?`).run(firstHour);
  }

  /** Deletes the oldest hour kept; false when there is none. */
  dropOldestHour(): boolean {
    const oldest = (this.db.prepare('SELECT MIN(hour) AS h FROM query_hour_action').get() as { h: number | null }).h;
    if (oldest === null) return false;
    this.retain(oldest + 1);
    return true;
  }
}

const STATS_TABLES = ['query_hour_action', 'query_hour_domain', 'query_hour_client', 'query_hour_blocked'];

function bump(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

export interface HourTotals {
  t: number;
  total: number;
  blocked: number;
}

export interface RangeStats {
  from: number;
  to: number;
  total: number;
  blocked: number;
  byAction: Record<string, number>;
  topClients: Array<{ client: string; n: number; blocked: number }>;
  topDomains: Array<{ domain: string; n: number }>;
  topBlocked: Array<{ domain: string; n: number }>;
  hours: HourTotals[];
}

const BLOCKED_LIST = [...BLOCKED_ACTIONS].map((a) => `'${a}'`).join(', ');

/** Every hour from `first` to `last`, zero where nothing was counted (a chart needs the gaps). */
function series(
  first: number,
  last: number,
  rows: Array<{ hour: number; action: string; n: number }>,
): { hours: HourTotals[]; byAction: Record<string, number>; total: number; blocked: number } {
  const hours: HourTotals[] = [];
  for (let h = first; h <= last; h++) hours.push({ t: h * HOUR_MS, total: 0, blocked: 0 });
  const byAction: Record<string, number> = {};
  let total = 0;
  let blocked = 0;
  for (const r of rows) {
    const slot = hours[r.hour - first];
    if (slot === undefined) continue;
    slot.total += r.n;
    total += r.n;
    byAction[r.action] = (byAction[r.action] ?? 0) + r.n;
    if (BLOCKED_ACTIONS.has(r.action)) {
      slot.blocked += r.n;
      blocked += r.n;
    }
  }
  return { hours, byAction, total, blocked };
}

/** The range's hours: the current one and the hours before it, `STATS_RANGES[range]` in all. */
function window(range: StatsRange, now: number): { first: number; last: number } {
  const last = hourOf(now);
  return { first: last - STATS_RANGES[range] + 1, last };
}

export function rangeStats(db: Database.Database, range: StatsRange, top: number, now = Date.now()): RangeStats {
  const { first, last } = window(range, now);
  const s = series(
    first,
    last,
    db.prepare('SELECT hour, action, n FROM query_hour_action WHERE hour BETWEEN ? AND ?').all(first, last) as Array<{
      hour: number;
      action: string;
      n: number;
    }>,
  );
  const topOf = (table: string) =>
    db
      .prepare(
        `SELECT domain, SUM(n) AS n FROM ${table} WHERE hour BETWEEN ? AND ? GROUP BY domain ORDER BY n DESC, domain LIMIT ?`,
      )
      .all(first, last, top) as Array<{ domain: string; n: number }>;
  const topClients = db
    .prepare(
      `SELECT client, SUM(n) AS n, SUM(CASE WHEN action IN (${BLOCKED_LIST}) THEN n ELSE 0 END) AS blocked FROM query_hour_client WHERE hour BETWEEN ? AND ? GROUP BY client ORDER BY n DESC, client LIMIT ?`,
    )
    .all(first, last, top) as RangeStats['topClients'];
  return {
    from: first * HOUR_MS,
    to: now,
    total: s.total,
    blocked: s.blocked,
    byAction: s.byAction,
    topClients,
    topDomains: topOf('query_hour_domain'),
    topBlocked: topOf('query_hour_blocked'),
    hours: s.hours,
  };
}

export function clientStats(
  db: Database.Database,
  client: string,
  range: StatsRange,
  now = Date.now(),
): Pick<RangeStats, 'total' | 'blocked' | 'byAction' | 'hours'> {
  const { first, last } = window(range, now);
  const { hours, byAction, total, blocked } = series(
    first,
    last,
    db
      .prepare('SELECT hour, action, n FROM query_hour_client WHERE client = ? AND hour BETWEEN ? AND ?')
      .all(client, first, last) as Array<{ hour: number; action: string; n: number }>,
  );
  return { total, blocked, byAction, hours };
}
