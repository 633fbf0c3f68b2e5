/**
 * One I/O thread (a worker_thread): a data plane with its own sockets (UDP with SO_REUSEPORT,
 * so the kernel spreads datagrams over the threads), cache and upstream sockets, and Tunnel
 * Guard's gate to the brain's block table. It formats no event and writes no row itself: policy
 * decisions go to the main thread as plain data, query-log rows in column batches straight to
 * the writer thread, query summaries into its ring.
 *
 * Messages in: reload (a new Config, and new feeds when they changed), dynamic-blocks (the
 * blocks in force, whole), stop. Out: ready (the bound addresses), stats (counters every
 * STATS_MS), traffic (per client prefix, every TRAFFIC_MS, for the dynamic block rules), policy
 * (a decision not reported before), stopped.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type Logger, pino } from 'pino';
import type { Config } from '../config/schema.js';
import { nameLabels, presentName } from '../dns/name.js';
import type { TrafficDeltas } from '../defence/client-traffic-counter.js';
import type { DynamicBlockEntry } from '../defence/dynamic-block-set.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import { type GateSettings, GuardGateStage } from '../pipeline/stages/guard-gate-stage.js';
import type { PolicyDecision } from '../policy/policy-engine.js';
import { SharedFeeds, type SharedFeedsMessage } from '../policy/shared-feeds.js';
import type { QueryContext } from '../pipeline/query-context.js';
import { QueryLog } from '../querylog/query-log.js';
import { type BoundAddresses, DataPlane } from '../server/data-plane.js';
import type { FloodFlag } from '../flood/flood-flags.js';
import { BlockTable } from './block-table.js';
import { Doorbell } from './doorbell.js';
import { SeenFilterReader } from './seen-filter-reader.js';
import { SummaryRing } from './summary-ring.js';
import type { ThreadReport } from './thread-report.js';
import type { LoadedZone } from '../zones/zone-set.js';

export interface IoThreadData {
  index: number;
  config: Config;
  ring: SharedArrayBuffer;
  table: SharedArrayBuffer;
  doorbell: SharedArrayBuffer;
  feeds: SharedFeedsMessage;
  queryLog: MessagePort | null;
  /** This thread listens on TCP (and on UDP through node:dgram when the addon is missing). */
  tcp: boolean;
  /** The brain's seen-name and seen-user filters (plain repeats are settled on the I/O thread). */
  seen: { names: SharedArrayBuffer; users: SharedArrayBuffer };
  /** Several threads share the UDP port (SO_REUSEPORT); a lone thread keeps EADDRINUSE for a taken port. */
  reusePort: boolean;
  /** The dynamic blocks in force when the thread starts (a restarted thread must not forget them). */
  dynamicBlocks: DynamicBlockEntry[];
}

export type ToIoThread =
  | { type: 'reload'; config: Config; feeds: SharedFeedsMessage | null }
  /** A feed's table changed (a scheduled refresh): lookups see it at once, no engine rebuilt. */
  | { type: 'feeds'; feeds: SharedFeedsMessage }
  | { type: 'guard-mode'; mode: Config['guard']['mode'] }
  | { type: 'dynamic-blocks'; blocks: DynamicBlockEntry[] }
  /** The domains under a random-subdomain flood now; `share` is this thread's part of each one's rate. */
  | { type: 'floods'; floods: FloodFlag[]; share: number }
  | { type: 'report' }
  | { type: 'zones'; zones: LoadedZone[] }
  | { type: 'stop' };

export type FromIoThread =
  | { type: 'ready'; bound: BoundAddresses }
  | { type: 'failed'; error: string; code?: string }
  | { type: 'stats'; report: ThreadReport }
  | { type: 'traffic'; deltas: TrafficDeltas }
  | { type: 'policy'; client: string; qname: string; decision: PolicyDecision }
  | { type: 'stopped' };

const STATS_MS = 500;
/** Traffic deltas for the dynamic block rules, which the main thread weighs once a second. */
const TRAFFIC_MS = 500;
/** Policy decisions reported already (group, feed, rule line, client): bounded, forgotten every REPORTED_MS. */
const REPORTED_MAX = 10_000;
const REPORTED_MS = 600_000;

export function gateSettings(config: Config): GateSettings {
  return { ...config.guard, floodFeed: config.defence.randomSubdomain.enabled };
}

/** One I/O thread: its data plane, the guard gate, and the messages to and from the main thread. */
class IoThread {
  private readonly data = workerData as IoThreadData;
  private readonly port = parentPort!;
  private config: Config;
  private readonly log: Logger;
  private readonly gate: GuardGateStage;
  private readonly queryLog: QueryLog | null;
  private readonly feeds: SharedFeeds;
  private readonly plane: DataPlane;
  /**
   * How long this thread's queries wait for its event loop: the overload signal an operator
   * watches (reset at each report, so each report covers the last half second).
   */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private readonly reported = new Set<string>();
  private reportedSince = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private reloading = Promise.resolve();

  constructor() {
    const data = this.data;
    this.config = data.config;
    this.log = pino({ level: this.config.log.level, base: { pid: process.pid, thread: data.index } });
    this.gate = new GuardGateStage(
      new BlockTable(data.table),
      new SummaryRing(data.ring),
      new Doorbell(data.doorbell),
      gateSettings(this.config),
      new SeenFilterReader(data.seen.names, data.seen.users),
    );
    this.queryLog =
      data.queryLog === null
        ? null
        : new QueryLog(
            {
              path: '',
              mode: this.config.queryLog.mode,
              statistics: this.config.queryLog.statistics,
              maxAgeMs: 0,
              maxBytes: 0,
            },
            (err) => this.log.error({ err }, 'query log failed'),
            data.queryLog,
          );
    this.feeds = new SharedFeeds(data.feeds);
    this.loopDelay.enable();
    this.plane = new DataPlane(
      this.config,
      this.log,
      { guard: this.gate, feeds: this.feeds, queryLog: this.queryLog, onPolicy: (ctx, d) => this.reportPolicy(ctx, d) },
      { reusePort: data.reusePort, tcp: data.tcp },
    );
  }

  private send(m: FromIoThread): void {
    this.port.postMessage(m);
  }

  async start(): Promise<void> {
    try {
      await this.plane.start();
    } catch (err) {
      this.send({ type: 'failed', error: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
      return;
    }
    this.plane.parts.defence.setDynamicBlocks(this.data.dynamicBlocks);
    this.sendReport();
    this.send({ type: 'ready', bound: this.plane.boundAddresses() });
    this.timers = [setInterval(() => this.sendReport(), STATS_MS), setInterval(() => this.sendTraffic(), TRAFFIC_MS)];
    this.port.on('message', (m: ToIoThread) => this.onMessage(m));
  }

  /** A policy decision for the main thread's events, once per (group, feed, rule, client) a while. */
  private reportPolicy(ctx: QueryContext, d: PolicyDecision): void {
    if (Date.now() - this.reportedSince > REPORTED_MS || this.reported.size >= REPORTED_MAX) {
      this.reported.clear();
      this.reportedSince = Date.now();
    }
    const key = `${d.group}|${d.feed}|${d.line}|${ctx.clientAddress}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.send({
      type: 'policy',
      client: ctx.clientAddress,
      qname: presentName(nameLabels(ctx.request, HEADER_LENGTH)),
      decision: d,
    });
  }

  private sendReport(): void {
    this.send({ type: 'stats', report: this.report() });
  }

  private sendTraffic(): void {
    const deltas = this.plane.parts.defence.takeTraffic();
    if (deltas !== null) this.send({ type: 'traffic', deltas });
  }

  private report(): ThreadReport {
    const { plane, gate, queryLog } = this;
    return {
      index: this.data.index,
      plane: plane.snapshot(),
      latency: {
        counts: [...plane.stats.latency.counts],
        sum: plane.stats.latency.sum,
        count: plane.stats.latency.count,
      },
      upstreamLatencies: plane.upstreamLatencies().map((u) => ({
        labels: u.labels,
        counts: [...u.histogram.counts],
        sum: u.histogram.sum,
        count: u.histogram.count,
      })),
      gate: {
        repeats: gate.repeats,
        blocked: gate.blocked,
        wouldBlock: gate.wouldBlock,
        held: gate.held,
        holding: gate.holding,
        holdTimeouts: gate.holdTimeouts,
        holdsRefused: gate.holdsRefused,
        summariesDropped: gate.summariesDropped,
      },
      queryLog:
        queryLog === null
          ? null
          : { logged: queryLog.logged, dropped: queryLog.dropped, writeErrors: queryLog.writeErrors },
      loopDelayMs: this.takeLoopDelay(),
    };
  }

  private takeLoopDelay(): ThreadReport['loopDelayMs'] {
    const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
    const out = {
      p50: ms(this.loopDelay.percentile(50)),
      p99: ms(this.loopDelay.percentile(99)),
      max: ms(this.loopDelay.max),
    };
    this.loopDelay.reset();
    return out;
  }

  private onMessage(m: ToIoThread): void {
    switch (m.type) {
      case 'reload':
        this.reloading = this.reloading.then(() => this.reload(m.config, m.feeds));
        break;
      case 'feeds':
        this.feeds.update(m.feeds);
        break;
      case 'floods':
        this.plane.parts.flood.flags.set(m.floods, m.share);
        break;
      case 'report':
        this.sendReport();
        break;
      case 'zones':
        // After a reload in progress, so a SIGHUP's zones and a file's change land in order.
        this.reloading = this.reloading.then(() => {
          this.plane.setZones(m.zones);
          this.config = { ...this.config, zones: m.zones };
        });
        break;
      case 'guard-mode':
        this.gate.configure({ ...gateSettings(this.config), mode: m.mode });
        break;
      case 'dynamic-blocks':
        this.plane.parts.defence.setDynamicBlocks(m.blocks);
        break;
      case 'stop':
        void this.reloading.then(() => this.stop());
        break;
    }
  }

  private async reload(next: Config, feeds: (ToIoThread & { type: 'reload' })['feeds']): Promise<void> {
    this.gate.configure(gateSettings(next));
    if (this.queryLog !== null) {
      this.queryLog.mode = next.queryLog.mode;
      this.queryLog.statistics = next.queryLog.statistics;
    }
    try {
      if (feeds !== null) this.feeds.update(feeds);
      await this.plane.reload(next, feeds === null ? null : this.feeds);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'reload applied only in part');
    }
    this.config = next;
    this.sendReport();
  }

  private async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.plane.stop();
    await this.queryLog?.close();
    this.sendReport();
    this.send({ type: 'stopped' });
    this.port.close();
  }
}

void new IoThread().start();
