/**
 * The console API's query log and statistics answers: one declaration, imported by the routes
 * (src/console/routes/query-routes.ts, type-only) and by the web UI. Types only: the browser
 * build and the server build both compile it.
 */
import type { ListEntry } from '../../policy/local-list-types.js';
import type { QueryRecord } from '../../querylog/query-record.js';

/** One logged query as GET /api/queries returns it: the store's row with its id and names. */
export interface QueryRow extends QueryRecord {
  /** The row's id in the log: with `t`, what a cursor points at. */
  id: number;
  /** The query type's mnemonic (A, AAAA, TYPE65534, …). */
  qtypeName: string;
  /** NOERROR, NXDOMAIN, …; '–' when no answer was sent. */
  rcodeName: string;
}

/** GET /api/queries: newest first. */
export interface QueryPage {
  queries: QueryRow[];
  /** Pass as `cursor` for the next (older) page; null when this is the last. */
  next: string | null;
  /** The offset this page started at (0 with a cursor). */
  offset: number;
  /** all, blocked or off: which queries are kept as rows (statistics count every query either way). */
  queryLogMode: string;
}

export interface CountedClient {
  client: string;
  n: number;
  blocked: number;
}

export interface CountedDomain {
  domain: string;
  n: number;
}

/** One hour of the series: `t` is the hour's start (ms since the epoch). */
export interface HourCount {
  t: number;
  total: number;
  blocked: number;
}

/** GET /api/stats: from the hourly statistics, exact for every query since they were kept. */
export interface QueryStats {
  range: '24h' | '7d';
  /** The first hour counted (ms); the current hour is counted so far. */
  from: number;
  to: number;
  total: number;
  blocked: number;
  byAction: Record<string, number>;
  topClients: CountedClient[];
  topDomains: CountedDomain[];
  topBlocked: CountedDomain[];
  hours: HourCount[];
  queryLogMode: string;
}

/** One client's counts (GET /api/clients/:client, `stats`). */
export interface ClientStats {
  range: '24h' | '7d';
  total: number;
  blocked: number;
  byAction: Record<string, number>;
  hours: HourCount[];
}

export type { FeedStatus } from '../../policy/feed-status.js';
import type { FeedStatus } from '../../policy/feed-status.js';

/** GET /api/feeds; POST /api/feeds/refresh and /api/feeds/:name/refresh add `updated`. */
export interface FeedsAnswer {
  feeds: FeedStatus[];
  /** The feeds whose new version is now in force. */
  updated?: string[];
}

/** One step of an incident's timeline (GET /api/threats/:incident), oldest first. */
export interface IncidentStep {
  /** Milliseconds since the epoch. */
  t: number;
  /** A Tunnel Guard event, an operator's audited action, or a block's end. */
  kind: 'detection' | 'operator' | 'expiry';
  /** The event type, the audit action (allow, unblock, …) or `block_end`. */
  what: string;
  by: string;
  /** The incident the step belongs to: this one, or an earlier or later offence on the same domain. */
  incident?: string;
  /** For detections: whether the action was enforced (false: monitor mode). */
  enforced?: boolean;
  client?: string;
  text: string;
  /** The operator's comment on an action. */
  comment?: string;
  /** A block's end still to come (the block is in force). */
  planned?: boolean;
}

/**
 * Bytes leaked, one basis for the headline and the chart: Tunnel Guard's estimate of the encoded
 * payload each client sent through the domain, as its events carried it (cumulative per client).
 */
export interface IncidentLeak {
  basis: 'tunnel-guard-estimate';
  /** Per client: [ms, bytes] points, oldest first, each a running total. */
  clients: Array<{ client: string; points: Array<[number, number]> }>;
  /** The sum of each client's last point: what the headline shows. */
  total: number;
}

/** What is in force on the incident's domain and clients now (re-read after each action). */
export interface IncidentState {
  blocks: Array<{ domain: string; scope?: string; client: string; incident: string; until: number }>;
  allows: Array<{ domain?: string; client?: string; until: number; by: string }>;
  quarantines: Array<{ client: string; until: number; by: string }>;
}

/** GET /api/lists (and the answer to a change): the local lists and their feeds' state. */
export interface ListsAnswer {
  allow: ListEntry[];
  deny: ListEntry[];
  feeds: { allow: FeedStatus | null; deny: FeedStatus | null };
  /** After an add: the entry as kept. */
  entry?: ListEntry;
}
