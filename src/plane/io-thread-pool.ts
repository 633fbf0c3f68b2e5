/**
 * The I/O threads, seen from the main thread: starts them (each with its ring, the shared block
 * table and doorbell, the policy feeds and a port to the query-log writer), passes reloads and
 * guard-mode changes on, restarts a thread that died, and sums their reports (every half second)
 * into the counters and histograms the metrics, the console and `status` read.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { LoadedZone } from '../zones/zone-set.js';
import type { TrafficDeltas } from '../defence/client-traffic-counter.js';
import type { DynamicBlockEntry } from '../defence/dynamic-block-set.js';
import type { PlaneSnapshot } from '../ops/server-snapshot.js';
import type { PolicyDecision } from '../policy/policy-engine.js';
import type { SharedFeedsMessage } from '../policy/shared-feeds.js';
import type { QueryLog } from '../querylog/query-log.js';
import type { BoundAddresses, DataPlaneSnapshot } from '../server/data-plane.js';
import { LatencyHistogram } from '../util/histogram.js';
import { ListenError } from '../util/listen.js';
import type { BlockTable } from './block-table.js';
import type { Brain } from './brain.js';
import type { Doorbell } from './doorbell.js';
import type { FromIoThread, IoThreadData, ToIoThread } from './io-thread.js';
import { SummaryRing } from './summary-ring.js';
import type { HistogramCounts, ThreadReport } from './thread-report.js';
import type { FloodFlag } from '../flood/flood-flags.js';

export interface IoThreadPoolParts {
  table: BlockTable;
  doorbell: Doorbell;
  brain: Brain;
  queryLog: QueryLog;
  feeds: () => SharedFeedsMessage;
  seen: { names: SharedArrayBuffer; users: SharedArrayBuffer };
  /** The domains under a random-subdomain flood now (a new thread gets them at start). */
  floods: () => FloodFlag[];
  onPolicy(client: string, qname: string, decision: PolicyDecision): void;
  /** A thread's traffic per client prefix, for the dynamic block rules. */
  onTraffic(deltas: TrafficDeltas): void;
  /** The dynamic blocks in force, for a thread that starts (or restarts). */
  dynamicBlocks(): DynamicBlockEntry[];
}

interface IoThread {
  index: number;
  worker: Worker;
  ring: SummaryRing;
  bound: BoundAddresses;
  report: ThreadReport | null;
  stopping: boolean;
  alive: boolean;
}

const RESTART_DELAY_MS = 500;
const STOP_GRACE_MS = 2000;
const REFRESH_MS = 250;
/** Restarts over the process's life (each keeps the dead thread's counters: this bounds them). */
const MAX_RESTARTS = 20;

export class IoThreadPool {
  private readonly threads: IoThread[] = [];
  /** Client-facing latency over every thread (rebuilt from their reports). */
  readonly latency = new LatencyHistogram();
  private upstreamHistograms = new Map<
    string,
    { labels: { pool: string; upstream: string }; histogram: LatencyHistogram }
  >();
  restarts = 0;
  private stopped = false;
  /** Counters of threads that were replaced, so that sums never go backwards. */
  private readonly retired: ThreadReport[] = [];

  constructor(
    private config: Config,
    readonly size: number,
    private readonly log: Logger,
    private readonly parts: IoThreadPoolParts,
  ) {}

  /** Starts every thread; when one cannot (a port taken), the ones started are stopped again. */
  async start(): Promise<void> {
    try {
      for (let i = 0; i < this.size; i++) await this.spawn(i);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private spawn(index: number): Promise<void> {
    const ring = new SummaryRing(SummaryRing.allocate(this.config.guard.ringSize));
    const queryLog = this.parts.queryLog.connectWriter();
    const data: IoThreadData = {
      index,
      config: this.config,
      ring: ring.buffer,
      table: this.parts.table.buffer,
      doorbell: this.parts.doorbell.buffer,
      feeds: this.parts.feeds(),
      queryLog,
      tcp: index === 0,
      seen: this.parts.seen,
      reusePort: this.size > 1,
      dynamicBlocks: this.parts.dynamicBlocks(),
    };
    const worker = new Worker(new URL('./io-thread.js', import.meta.url), {
      workerData: data,
      transferList: [queryLog],
    });
    const thread: IoThread = {
      index,
      worker,
      ring,
      bound: { udp: [], tcp: [], dot: [], doh: [] },
      report: null,
      stopping: false,
      alive: true,
    };
    // Queued until the thread listens: a restarted thread limits the floods in force at once.
    worker.postMessage({ type: 'floods', floods: this.parts.floods(), share: 1 / this.size } satisfies ToIoThread);
    this.parts.brain.addRing(index, ring);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromIoThread) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            thread.bound = m.bound;
            // Stopped while this one was starting (a restart racing a shutdown): it goes too.
            if (this.stopped) {
              thread.stopping = true;
              void worker.terminate();
            } else this.threads[index] = thread;
            resolve();
            break;
          case 'failed':
            reject(m.code === 'DNSWARD_ERR_LISTEN' ? new ListenError(m.error) : new Error(m.error));
            void worker.terminate();
            break;
          case 'stats':
            thread.report = m.report;
            this.rebuildHistograms();
            break;
          case 'policy':
            this.parts.onPolicy(m.client, m.qname, m.decision);
            break;
          case 'traffic':
            this.parts.onTraffic(m.deltas);
            break;
        }
      });
      worker.on('error', (err) => {
        this.log.error({ thread: index, err }, 'I/O thread failed');
        if (!ready) reject(err);
      });
      worker.on('exit', (code) => {
        thread.alive = false;
        if (thread.stopping || this.stopped) return;
        if (!ready) return reject(new Error(`I/O thread ${index} exited with code ${code} before it was ready`));
        // Its sockets closed with it; the kernel spreads datagrams over the threads left until
        // a new one binds. Its counters are kept so sums do not go backwards.
        if (this.restarts >= MAX_RESTARTS) {
          // A thread that keeps dying is a bug, not bad luck: the others go on serving.
          this.log.error(
            { thread: index, code, restarts: this.restarts },
            'I/O thread died again: not restarted (the other threads serve)',
          );
          return;
        }
        this.log.error({ thread: index, code }, 'I/O thread died: starting a new one');
        this.parts.brain.removeRing(index);
        if (thread.report !== null) this.retired.push(thread.report);
        thread.report = null;
        this.restarts++;
        setTimeout(() => {
          if (this.stopped) return;
          void this.spawn(index).catch((err) =>
            this.log.error({ thread: index, err: (err as Error).message }, 'I/O thread could not be restarted'),
          );
        }, RESTART_DELAY_MS).unref();
      });
    });
  }

  /** Addresses the threads bound (every thread binds the same UDP addresses). */
  boundAddresses(): BoundAddresses {
    const out = { udp: new Set<string>(), tcp: new Set<string>(), dot: new Set<string>(), doh: new Set<string>() };
    for (const t of this.threads)
      for (const k of ['udp', 'tcp', 'dot', 'doh'] as const) for (const a of t.bound[k]) out[k].add(a);
    return { udp: [...out.udp], tcp: [...out.tcp], dot: [...out.dot], doh: [...out.doh] };
  }

  async reload(next: Config, feeds: SharedFeedsMessage | null, guardMode: Config['guard']['mode']): Promise<void> {
    this.config = next;
    const config = { ...next, guard: { ...next.guard, mode: guardMode } };
    await Promise.all(
      this.threads.filter((t) => t.alive).map((t) => this.request(t, { type: 'reload', config, feeds })),
    );
  }

  /** A zone file changed: every thread serves these zones from now on (and a restarted thread starts with them). */
  setZones(zones: LoadedZone[]): void {
    this.config = { ...this.config, zones };
    for (const t of this.threads) if (t.alive) t.worker.postMessage({ type: 'zones', zones } satisfies ToIoThread);
  }

  /** A feed refreshed: every thread looks names up in its new table from now on. */
  updateFeeds(feeds: SharedFeedsMessage): void {
    for (const t of this.threads) t.worker.postMessage({ type: 'feeds', feeds } satisfies ToIoThread);
  }

  /** The dynamic blocks in force, whole, to every thread. */
  setDynamicBlocks(blocks: DynamicBlockEntry[]): void {
    for (const t of this.threads)
      if (t.alive) t.worker.postMessage({ type: 'dynamic-blocks', blocks } satisfies ToIoThread);
  }

  /** The flood detector's flags changed: each thread limits its share (1 / threads) of each domain's rate. */
  setFloods(floods: FloodFlag[]): void {
    for (const t of this.threads)
      t.worker.postMessage({ type: 'floods', floods, share: 1 / this.size } satisfies ToIoThread);
  }

  setGuardMode(mode: Config['guard']['mode']): void {
    for (const t of this.threads) t.worker.postMessage({ type: 'guard-mode', mode } satisfies ToIoThread);
  }

  /** Every live thread's counters now; a thread that does not answer within REFRESH_MS keeps its last report. */
  async refresh(): Promise<void> {
    await Promise.all(
      this.threads
        .filter((t) => t.alive)
        .map((t) =>
          Promise.race([
            this.request(t, { type: 'report' }),
            new Promise<void>((resolve) => setTimeout(resolve, REFRESH_MS)),
          ]),
        ),
    );
  }

  /** Sends a message and resolves at the thread's next report (a reload ends with one). */
  private request(t: IoThread, m: ToIoThread): Promise<void> {
    return new Promise<void>((resolve) => {
      const onMessage = (r: FromIoThread) => {
        if (r.type !== 'stats') return;
        t.worker.off('message', onMessage);
        resolve();
      };
      t.worker.on('message', onMessage);
      t.worker.postMessage(m);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const drain = this.config.shutdown.drainTimeout + STOP_GRACE_MS;
    await Promise.all(
      this.threads
        .filter((t) => t.alive)
        .map(
          (t) =>
            new Promise<void>((resolve) => {
              t.stopping = true;
              const timer = setTimeout(() => void t.worker.terminate().then(() => resolve()), drain);
              t.worker.on('message', (m: FromIoThread) => {
                if (m.type !== 'stopped') return;
                clearTimeout(timer);
                void t.worker.terminate().then(() => resolve());
              });
              t.worker.postMessage({ type: 'stop' } satisfies ToIoThread);
            }),
        ),
    );
  }

  /** Terminates one thread as a crash would (tests: a dead thread is replaced). */
  async kill(index: number): Promise<void> {
    await this.threads[index]?.worker.terminate();
  }

  private reports(): ThreadReport[] {
    // A thread that stopped with the pool keeps its last report (the final counters at shutdown).
    return [...this.retired, ...this.threads.flatMap((t) => (t.report === null ? [] : [t.report]))];
  }

  snapshot(): DataPlaneSnapshot {
    const live = this.threads.flatMap((t) => (t.report === null || !t.alive ? [] : [t.report]));
    const merged = sumPlanes(this.reports().map((r) => r.plane));
    // Gauges are the live threads' own, not the retired ones'.
    merged.inFlight = live.reduce((n, r) => n + r.plane.inFlight, 0);
    merged.cache.entries = live.reduce((n, r) => n + r.plane.cache.entries, 0);
    merged.cache.bytes = live.reduce((n, r) => n + r.plane.cache.bytes, 0);
    return merged;
  }

  gate(): Omit<
    PlaneSnapshot,
    'threads' | 'brainConsumed' | 'brainBacklog' | 'brainFailOpen' | 'passedBeforeBlock' | 'threadRestarts'
  > {
    const out = {
      repeats: 0,
      blocked: 0,
      wouldBlock: 0,
      held: 0,
      holding: 0,
      holdTimeouts: 0,
      holdsRefused: 0,
      summariesDropped: 0,
    };
    for (const r of this.reports()) for (const k of Object.keys(out) as Array<keyof typeof out>) out[k] += r.gate[k];
    const perThread = this.threads.flatMap((t) =>
      t.report === null || !t.alive
        ? []
        : [
            {
              index: t.index,
              queries:
                t.report.plane.queries.udp +
                t.report.plane.queries.tcp +
                t.report.plane.queries.tls +
                t.report.plane.queries.https,
              blocked: t.report.gate.blocked,
              held: t.report.gate.held,
              summariesDropped: t.report.gate.summariesDropped,
              loopDelayMs: t.report.loopDelayMs,
            },
          ],
    );
    return { ...out, perThread };
  }

  queryLogCounts(): { logged: number; dropped: number; writeErrors: number } {
    const out = { logged: 0, dropped: 0, writeErrors: 0 };
    for (const r of this.reports()) {
      if (r.queryLog === null) continue;
      out.logged += r.queryLog.logged;
      out.dropped += r.queryLog.dropped;
      out.writeErrors += r.queryLog.writeErrors;
    }
    return out;
  }

  upstreamLatencies(): Array<{ labels: { pool: string; upstream: string }; histogram: LatencyHistogram }> {
    return [...this.upstreamHistograms.values()];
  }

  private rebuildHistograms(): void {
    const reports = this.reports();
    setHistogram(
      this.latency,
      reports.map((r) => r.latency),
    );
    const byUpstream = new Map<string, { labels: { pool: string; upstream: string }; parts: HistogramCounts[] }>();
    for (const r of reports) {
      for (const u of r.upstreamLatencies) {
        const key = `${u.labels.pool}|${u.labels.upstream}`;
        const entry = byUpstream.get(key) ?? { labels: u.labels, parts: [] };
        entry.parts.push(u);
        byUpstream.set(key, entry);
      }
    }
    const next = new Map<string, { labels: { pool: string; upstream: string }; histogram: LatencyHistogram }>();
    for (const [key, e] of byUpstream) {
      const h = this.upstreamHistograms.get(key)?.histogram ?? new LatencyHistogram();
      setHistogram(h, e.parts);
      next.set(key, { labels: e.labels, histogram: h });
    }
    this.upstreamHistograms = next;
  }
}

function setHistogram(h: LatencyHistogram, parts: HistogramCounts[]): void {
  h.counts.fill(0);
  h.sum = 0;
  h.count = 0;
  for (const p of parts) {
    for (let i = 0; i < h.counts.length && i < p.counts.length; i++) h.counts[i] += p.counts[i];
    h.sum += p.sum;
    h.count += p.count;
  }
}

/** Sums the threads' counters: numbers add up, records add up key by key, upstreams and blocks by their identity. */
export function sumPlanes(planes: DataPlaneSnapshot[]): DataPlaneSnapshot {
  const [first, ...rest] = planes;
  // Each thread reports before it says it is ready: started, there is always one.
  if (first === undefined) throw new Error('no I/O thread has reported its counters yet');
  let out = structuredClone(first);
  for (const p of rest) out = addInto(out, p) as DataPlaneSnapshot;
  // Averages were added up: make them averages again over the threads.
  const n = planes.length;
  for (const u of out.upstreams) u.latencyAvgMs /= n;
  return out;
}

function addInto(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a || b;
  if (Array.isArray(a) && Array.isArray(b)) {
    const keyOf = (x: Record<string, unknown>) =>
      'pool' in x ? `${x.pool}|${x.name}` : `${x.stage}|${x.reason}|${x.enforced}`;
    const byKey = new Map<string, Record<string, unknown>>(a.map((x: Record<string, unknown>) => [keyOf(x), x]));
    for (const y of b as Array<Record<string, unknown>>) {
      const x = byKey.get(keyOf(y));
      if (x === undefined) byKey.set(keyOf(y), structuredClone(y));
      else byKey.set(keyOf(y), addInto(x, y) as Record<string, unknown>);
    }
    return [...byKey.values()];
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = k in out ? addInto(out[k], v) : v;
    return out;
  }
  return a ?? b;
}
