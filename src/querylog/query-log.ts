/**
 * The query log, on the query path's side: a pipeline observer that copies a few fields of each
 * finished query into column arrays (no name decoding, no object per query: the cache key string
 * and the reason are references the query already holds), and an event sink. Batches go to the
 * query-log worker thread every FLUSH_MS or BATCH queries. At most MAX_IN_FLIGHT batches wait on
 * the worker; beyond that, queries are not logged as rows (counted in `dropped`), so a slow disk
 * never grows memory.
 *
 * Statistics count every query, logged as a row or not: with mode `blocked` the others travel
 * in the batch marked count-only (`keep` 0), and while the worker is behind each query is folded
 * into a tally of (hour, action, client, name) counts sent with the next batch. The tally holds
 * at most MAX_TALLY keys; past that a query is counted by hour and action only, so totals stay
 * exact and only the top lists can miss it (`untallied` says how many). Mode `off` keeps nothing.
 *
 * Bounds: BATCH queries in the open batch, MAX_IN_FLIGHT batches in the worker's queue, MAX_TALLY
 * tally keys.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { ensurePrivateFile } from '../util/private-files.js';
import type { EventSink } from '../events/event-bus.js';
import type { SecurityEvent } from '../events/security-event.js';
import type { QueryContext } from '../pipeline/query-context.js';
import type { Observer } from '../pipeline/stage.js';
import type { EventFilter, QueryFilter, QueryRecord, QuerySearch, SearchedQuery } from './query-log-store.js';
import { BLOCKED_ACTIONS, HOUR_MS, type RangeStats, type StatsRange } from './query-stats-store.js';

export type QueryLogMode = 'all' | 'blocked' | 'off';

const BATCH = 4096;
const FLUSH_MS = 250;
const MAX_IN_FLIGHT = 16;
const MAX_TALLY = 65_536;
const NO_RCODE = 255;

/** Queries counted while the worker was behind: `n` in `hour`, by action, client and name (wire key; '' when untallied). */
export interface TallyEntry {
  hour: number;
  type: string;
  client: string;
  key: string;
  n: number;
}

export interface QueryBatch {
  count: number;
  t: Float64Array<ArrayBuffer>;
  latency: Float32Array<ArrayBuffer>;
  qtype: Uint16Array<ArrayBuffer>;
  rcode: Uint8Array<ArrayBuffer>;
  /** 1: a row of the log; 0: counted in the statistics only (queryLog.mode). */
  keep: Uint8Array<ArrayBuffer>;
  client: string[];
  transport: string[];
  key: string[];
  type: string[];
  reason: string[];
  upstream: string[];
  tally?: TallyEntry[];
}

export type WorkerRequest =
  | { op: 'write'; id: number; queries?: QueryBatch; events?: SecurityEvent[] }
  | { op: 'queries'; id: number; filter: QueryFilter }
  | { op: 'events'; id: number; filter: EventFilter }
  | { op: 'counts'; id: number }
  | { op: 'retain'; id: number }
  | { op: 'search'; id: number; search: QuerySearch }
  | { op: 'stats'; id: number; range: StatsRange; top: number }
  | { op: 'client-stats'; id: number; client: string; range: StatsRange };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type WorkerReply =
  | { op: 'written'; id: number; retained: number }
  | { op: 'result'; id: number; rows: unknown }
  | { op: 'error'; id: number; error: string };

function newBatch(): QueryBatch {
  return {
    count: 0,
    t: new Float64Array(BATCH),
    latency: new Float32Array(BATCH),
    qtype: new Uint16Array(BATCH),
    rcode: new Uint8Array(BATCH),
    keep: new Uint8Array(BATCH),
    client: [],
    transport: [],
    key: [],
    type: [],
    reason: [],
    upstream: [],
  };
}

export interface QueryLogOptions {
  path: string;
  mode: QueryLogMode;
  maxAgeMs: number;
  maxBytes: number;
  /** Count the queries not logged as rows in the statistics too (queryLog.statistics). */
  statistics?: boolean;
}

export class QueryLog implements Observer, EventSink {
  readonly name = 'query-log';
  private batch = newBatch();
  private timer: NodeJS.Timeout | null = null;
  private workerThread: Worker | MessagePort | null = null;
  private inFlight = 0;
  private readonly writeIds = new Set<number>();
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly origin = performance.timeOrigin;
  mode: QueryLogMode;
  /** Whether queries that are not rows are still counted (about 1 µs each on the query thread). */
  statistics: boolean;
  logged = 0;
  dropped = 0;
  /** Queries counted by hour and action only (the tally was full). */
  untallied = 0;
  retained = 0;
  private tally = new Map<string, TallyEntry>();
  writeErrors = 0;

  /**
   * `writer`: on an I/O thread, the port to the main thread's writer (see connectWriter): rows
   * go straight to it, and no second writer opens the database.
   */
  constructor(
    private readonly options: QueryLogOptions,
    private readonly onError: (error: unknown) => void = () => {},
    writer?: MessagePort,
  ) {
    this.mode = options.mode;
    this.statistics = options.statistics ?? true;
    if (writer !== undefined) {
      writer.on('message', (m: WorkerReply) => this.onReply(m));
      writer.unref();
      this.workerThread = writer;
      return;
    }
    // A log kept from an earlier run is made owner-only now, not at the first write (which may
    // be days away when only blocked queries are logged).
    if (existsSync(options.path)) ensurePrivateFile(options.path);
  }

  /** A port for an I/O thread's QueryLog: what it sends there is written by this log's writer thread. */
  connectWriter(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ op: 'port', port: port1 }, [port1]);
    return port2;
  }

  /** The writer thread, started with the first write or search (the database file appears then). */
  private get worker(): Worker | MessagePort {
    if (this.workerThread !== null) return this.workerThread;
    const o = this.options;
    const worker = new Worker(new URL('./query-log-worker.js', import.meta.url), {
      workerData: { path: o.path, maxAgeMs: o.maxAgeMs, maxBytes: o.maxBytes },
    });
    worker.on('message', (m: WorkerReply) => this.onReply(m));
    worker.on('error', (error) => {
      // The thread is gone (the database could not be opened, say): count it, start afresh next time.
      this.writeErrors++;
      this.onError(error);
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
      this.writeIds.clear();
      this.inFlight = 0;
      this.workerThread = null;
    });
    worker.unref();
    this.workerThread = worker;
    return worker;
  }

  observe(ctx: QueryContext): void {
    if (this.mode === 'off') return;
    const keep = this.mode === 'all' || BLOCKED_ACTIONS.has(ctx.responseType);
    if (!keep && !this.statistics) return;
    const t = this.origin + ctx.startedAt;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      if (keep) this.dropped++;
      this.count(Math.floor(t / HOUR_MS), ctx.responseType, ctx.clientAddress, ctx.questionKey);
      return;
    }
    const b = this.batch;
    const i = b.count++;
    b.keep[i] = keep ? 1 : 0;
    b.t[i] = t;
    b.latency[i] = performance.now() - ctx.startedAt;
    b.qtype[i] = ctx.query.qtype;
    b.rcode[i] = ctx.answer === null ? NO_RCODE : ctx.answer[3] & 0xf;
    b.client.push(ctx.clientAddress);
    b.transport.push(ctx.transport);
    b.key.push(ctx.questionKey);
    b.type.push(ctx.responseType);
    b.reason.push(ctx.reason);
    b.upstream.push(ctx.upstream);
    if (i + 1 >= BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  /** Folds a query the worker has no room for into the tally (see the file's comment). */
  private count(hour: number, type: string, client: string, key: string): void {
    let id = `${hour}\t${type}\t${client}\t${key}`;
    let entry = this.tally.get(id);
    if (entry === undefined && this.tally.size >= MAX_TALLY) {
      this.untallied++;
      id = `${hour}\t${type}`;
      entry = this.tally.get(id);
      client = '';
      key = '';
    }
    if (entry === undefined) this.tally.set(id, (entry = { hour, type, client, key, n: 0 }));
    entry.n++;
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  write(events: SecurityEvent[]): void {
    this.post({ op: 'write', id: 0, events });
  }

  /** Sends the open batch to the worker. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const b = this.batch;
    // The tally goes with the next batch the worker has room for.
    const tally = this.tally.size > 0 && this.inFlight < MAX_IN_FLIGHT;
    if (b.count === 0 && !tally) {
      if (this.tally.size > 0) this.timer = setTimeout(() => this.flush(), FLUSH_MS).unref();
      return;
    }
    this.batch = newBatch();
    for (let i = 0; i < b.count; i++) this.logged += b.keep[i];
    if (tally) {
      b.tally = [...this.tally.values()];
      this.tally = new Map();
    }
    this.post({ op: 'write', id: 0, queries: b }, [
      b.t.buffer,
      b.latency.buffer,
      b.qtype.buffer,
      b.rcode.buffer,
      b.keep.buffer,
    ]);
  }

  private post(m: WorkerRequest & { op: 'write' }, transfer: ArrayBuffer[] = []): void {
    this.inFlight++;
    m.id = this.nextId++;
    this.writeIds.add(m.id);
    this.worker.postMessage(m, transfer);
  }

  private request<T>(m: DistributiveOmit<Exclude<WorkerRequest, { op: 'write' }>, 'id'>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...m, id });
    });
  }

  private onReply(m: WorkerReply): void {
    if (this.writeIds.delete(m.id)) {
      this.inFlight--;
      if (m.op === 'written') this.retained += m.retained;
      else if (m.op === 'error') {
        // A failed write is counted; its rows are lost (the disk said no), DNS goes on.
        this.writeErrors++;
        this.onError(new Error(`query log write failed: ${m.error}`));
      }
    }
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    if (m.op === 'error') w.reject(new Error(m.error));
    else w.resolve(m.op === 'result' ? m.rows : undefined);
  }

  queries(filter: QueryFilter): Promise<QueryRecord[]> {
    return this.request({ op: 'queries', filter });
  }

  events(filter: EventFilter): Promise<SecurityEvent[]> {
    return this.request({ op: 'events', filter });
  }

  /** The console's query search (GET /api/queries). */
  search(search: QuerySearch): Promise<{ rows: SearchedQuery[]; more: boolean }> {
    return this.request({ op: 'search', search });
  }

  /** Hourly statistics over a range (GET /api/stats), exact for every query since they were kept. */
  stats(range: StatsRange, top: number): Promise<RangeStats> {
    return this.request({ op: 'stats', range, top });
  }

  clientStats(
    client: string,
    range: StatsRange,
  ): Promise<Pick<RangeStats, 'total' | 'blocked' | 'byAction' | 'hours'>> {
    return this.request({ op: 'client-stats', client, range });
  }

  counts(): Promise<{ queries: number; events: number; liveBytes: number }> {
    return this.request({ op: 'counts' });
  }

  /** Resolves once everything handed over so far is written (the tally too: a second round sends it once the queue has room). */
  async settle(round = 0): Promise<void> {
    this.flush();
    const id = this.nextId++;
    this.inFlight++;
    this.writeIds.add(id);
    const worker = this.worker;
    // The writer is unref'd (it must not keep a finished process alive); while someone waits
    // for it, it must, or a process with nothing else to do would end before the reply.
    worker.ref();
    try {
      await new Promise<void>((resolve, reject) => {
        this.waiting.set(id, { resolve: () => resolve(), reject });
        worker.postMessage({ op: 'write', id } satisfies WorkerRequest);
      });
    } finally {
      worker.unref();
    }
    if (this.tally.size > 0 && round === 0) await this.settle(1);
  }

  async close(): Promise<void> {
    if (this.workerThread === null && this.batch.count === 0) return;
    try {
      await this.settle();
    } finally {
      if (this.workerThread instanceof Worker) await this.workerThread.terminate();
      else this.workerThread?.close();
      this.workerThread = null;
    }
  }
}
