/**
 * The fleet console's events: each node appends the security events it saw itself to one Redis
 * stream, `{prefix}:events`, capped at about `cluster.fleetEvents` entries (XADD MAXLEN ~: Redis
 * trims whole blocks, so it may hold a little more), and any node's console reads the fleet's
 * newest ones from it (XREVRANGE, bounded), each naming the node that saw it.
 *
 * Only this node's own events are written (`node` is this node's name): an event for a decision
 * applied from another node names that node, which wrote its own event already, so the stream
 * holds each event once.
 *
 * Off the query path and never waiting: it is an event sink (the event bus drains on a later turn
 * of the event loop), and write() only buffers (at most MAX_BUFFER events, oldest dropped,
 * counted) and returns; the buffer goes out in one pipeline per turn. While Redis is unreachable
 * the events are dropped, counted (`dnsward_cluster_fleet_events_total{op="dropped"}`): the
 * node's own console, its sinks and its SQLite store still have them.
 *
 * Reading: every entry shown is checked first (fleet-event.ts); one that fails is skipped and
 * counted (`op="malformed"`), never shown, never fatal. A read scans at most MAX_SCAN entries.
 */
import type { Logger } from 'pino';
import type { SecurityEvent } from '../events/security-event.js';
import type { EventSink } from '../events/event-bus.js';
import type { EventFilter } from '../querylog/query-log-store.js';
import type { ClusterCounters } from './cluster-counters.js';
import { checkFleetEvent, MAX_FLEET_EVENT_BYTES } from './fleet-event.js';
import type { RedisConnection } from './redis-client.js';

/** Events waiting for the next pipeline (a burst larger than this loses its oldest, counted). */
const MAX_BUFFER = 2000;
/** Entries read per XREVRANGE page, and at most per read of the console (whatever matches). */
const PAGE = 500;
export const MAX_SCAN = 20_000;
/** Events are filtered on their own time; the stream's ids are Redis's clock: this much slack between the two. */
const CLOCK_SLACK_MS = 10 * 60_000;
/** Failures are logged at most this often (each is counted). */
const LOG_INTERVAL_MS = 10_000;

export interface FleetLink {
  readonly node: string;
  /** The stream's key. */
  key(): string;
  /** Entries kept at about (0: write none). */
  cap(): number;
  /** The command connection while Redis is reachable; null otherwise. */
  redis(): RedisConnection | null;
}

/** The fleet's events that matched a filter, newest first. */
export interface FleetRead {
  events: SecurityEvent[];
  /** Stream entries looked at. */
  scanned: number;
  /** Entries skipped as malformed. */
  dropped: number;
  /** The filter was not satisfied before MAX_SCAN entries (older matches may exist). */
  truncated: boolean;
}

/** The fleet view cannot be read now (Redis unreachable or failing): the console says so. */
export class FleetUnavailable extends Error {}

export class FleetEvents implements EventSink {
  readonly name = 'fleet';
  private buffer: string[] = [];
  private scheduled = false;
  private lastLog = 0;

  constructor(
    private readonly link: FleetLink,
    private readonly counters: ClusterCounters,
    private readonly log: Logger,
  ) {}

  get node(): string {
    return this.link.node;
  }

  /** Takes a batch from the event bus; never waits, never throws. */
  write(events: SecurityEvent[]): void {
    if (this.link.cap() === 0) return;
    for (const e of events) {
      if (e.node !== this.link.node) continue;
      const text = JSON.stringify(e);
      if (text.length > MAX_FLEET_EVENT_BYTES) {
        this.counters.fleet.dropped++;
        continue;
      }
      if (this.buffer.length >= MAX_BUFFER) {
        this.buffer.shift();
        this.counters.fleet.dropped++;
      }
      this.buffer.push(text);
    }
    if (this.buffer.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.buffer;
    this.buffer = [];
    const redis = this.link.redis();
    if (redis === null) {
      this.counters.fleet.dropped += batch.length;
      return this.warn('Redis unreachable: events not added to the fleet stream (they stay in this node’s console)');
    }
    try {
      const pipeline = redis.pipeline();
      for (const text of batch) pipeline.xadd(this.link.key(), 'MAXLEN', '~', this.link.cap(), '*', 'e', text);
      const results = (await pipeline.exec()) ?? [];
      let failed = batch.length - results.length;
      for (const [err] of results) if (err !== null) failed++;
      this.counters.fleet.written += batch.length - failed;
      this.counters.fleet.dropped += failed;
      if (failed > 0) this.warn(`${failed} events not added to the fleet stream`);
    } catch (err) {
      this.counters.fleet.dropped += batch.length;
      this.warn(`events not added to the fleet stream (${(err as Error).message})`);
    }
  }

  /**
   * The fleet's newest events matching the filter (types, minimum severity, client, time window,
   * at most `limit`), read page by page from the newest; throws FleetUnavailable when Redis
   * cannot be read.
   */
  async read(f: EventFilter): Promise<FleetRead> {
    const redis = this.link.redis();
    if (redis === null) throw new FleetUnavailable('Redis is unreachable from this node');
    const limit = Math.max(1, f.limit ?? 100);
    const types = f.type === undefined ? null : new Set(Array.isArray(f.type) ? f.type : [f.type]);
    const out: FleetRead = { events: [], scanned: 0, dropped: 0, truncated: false };
    let end = f.until === undefined ? '+' : String(Math.max(0, f.until + CLOCK_SLACK_MS));
    const start = f.since === undefined ? '-' : String(Math.max(0, f.since - CLOCK_SLACK_MS));
    while (out.events.length < limit) {
      if (out.scanned >= MAX_SCAN) {
        out.truncated = true;
        break;
      }
      let page: Array<[string, string[]]>;
      try {
        page = (await redis.xrevrange(this.link.key(), end, start, 'COUNT', PAGE)) as Array<[string, string[]]>;
      } catch (err) {
        throw new FleetUnavailable(`Redis failed: ${(err as Error).message}`);
      }
      for (const [, fields] of page) {
        out.scanned++;
        const e = this.entry(fields, f, types);
        if (e === 'malformed') out.dropped++;
        else if (e !== null && out.events.length < limit) out.events.push(e);
      }
      if (page.length < PAGE) break;
      end = `(${page[page.length - 1][0]}`;
    }
    this.counters.fleet.read += out.scanned;
    return out;
  }

  /**
   * One stream entry's event if it matches the filter; null if it does not; 'malformed' (counted)
   * if it is no valid event. Only entries that pass the filter on their raw fields get the full
   * schema check (the costly part: 25–55 µs for an event of 1.8 KB on the 2-core VM, JSON.parse
   * alone 5–12 µs), so a search through the whole stream holds the main thread a few
   * milliseconds per page.
   */
  private entry(fields: unknown, f: EventFilter, types: Set<string> | null): SecurityEvent | null | 'malformed' {
    const text = Array.isArray(fields) && fields.length === 2 && fields[0] === 'e' ? fields[1] : null;
    if (typeof text !== 'string') return this.malformed('not an event entry');
    if (text.length > MAX_FLEET_EVENT_BYTES) return this.malformed(`over ${MAX_FLEET_EVENT_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return this.malformed('not an object');
    if (!matches(json as Partial<Record<keyof SecurityEvent, unknown>>, f, types)) return null;
    const checked = checkFleetEvent(json);
    return checked.ok ? checked.event : this.malformed(checked.reason);
  }

  private malformed(reason: string): 'malformed' {
    this.counters.fleet.malformed++;
    this.warn(`skipped an entry of the fleet stream: ${reason}`);
    return 'malformed';
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastLog < LOG_INTERVAL_MS) return;
    this.lastLog = now;
    this.log.warn({ node: this.link.node, fleet: this.counters.fleet }, `cluster: ${message}`);
  }
}

/** Whether an event passes the filter, read from fields not yet checked (any type may be there). */
function matches(e: Partial<Record<keyof SecurityEvent, unknown>>, f: EventFilter, types: Set<string> | null): boolean {
  if (types !== null && types.size > 0 && !(typeof e.type === 'string' && types.has(e.type))) return false;
  if (f.minSeverity !== undefined && !(typeof e.severity === 'number' && e.severity >= f.minSeverity)) return false;
  if (f.client !== undefined && e.client !== f.client) return false;
  if (f.domain !== undefined && e.domain !== f.domain) return false;
  if (f.incident !== undefined && e.incident !== f.incident) return false;
  if (f.since !== undefined || f.until !== undefined) {
    const t = typeof e.time === 'string' ? Date.parse(e.time) : NaN;
    if (f.since !== undefined && !(t >= f.since)) return false;
    if (f.until !== undefined && !(t <= f.until)) return false;
  }
  return true;
}
