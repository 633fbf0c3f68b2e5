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
import { pino } from 'pino';
import type { Config } from '../config/schema.js';
import { nameLabels, presentName } from '../dns/name.js';
import type { TrafficDeltas } from '../defence/client-traffic-counter.js';
import type { DynamicBlockEntry } from '../defence/dynamic-block-set.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import { type GateSettings, GuardGateStage } from '../pipeline/stages/guard-gate-stage.js';
import { SharedFeeds, type SharedFeedsMessage } from '../policy/shared-feeds.js';
import { QueryLog } from '../querylog/query-log.js';
import { type BoundAddresses, DataPlane } from '../server/data-plane.js';
import type { FloodFlag } from '../flood/flood-flags.js';
import { BlockTable } from './block-table.js';
import { Doorbell } from './doorbell.js';
import { SeenFilterReader } from './seen-filter-reader.js';
import { SummaryRing } from './summary-ring.js';
import type { ThreadReport } from './thread-report.js';

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
  | { type: 'stop' };

export type FromIoThread =
  | { type: 'ready'; bound: BoundAddresses }
  | { type: 'failed'; error: string; code?: string }
  | { type: 'stats'; report: ThreadReport }
  | { type: 'traffic'; deltas: TrafficDeltas }
  | { type: 'policy'; client: string; qname: string; decision: import('../policy/policy-engine.js').PolicyDecision }
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

async function main(): Promise<void> {
  const data = workerData as IoThreadData;
  const port = parentPort!;
  const send = (m: FromIoThread) => port.postMessage(m);
  let config = data.config;
  const log = pino({ level: config.log.level, base: { pid: process.pid, thread: data.index } });
  const gate = new GuardGateStage(new BlockTable(data.table), new SummaryRing(data.ring), new Doorbell(data.doorbell), gateSettings(config), new SeenFilterReader(data.seen.names, data.seen.users));
  const queryLog = data.queryLog === null ? null : new QueryLog({ path: '', mode: config.queryLog.mode, maxAgeMs: 0, maxBytes: 0 }, (err) => log.error({ err }, 'query log failed'), data.queryLog);
  const feeds = new SharedFeeds(data.feeds);
  // How long this thread's queries wait for its event loop: the overload signal an operator
  // watches (reset at each report, so each report covers the last half second).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const reported = new Set<string>();
  let reportedSince = Date.now();
  const plane = new DataPlane(config, log, {
    guard: gate,
    feeds,
    queryLog,
    onPolicy: (ctx, d) => {
      if (Date.now() - reportedSince > REPORTED_MS || reported.size >= REPORTED_MAX) {
        reported.clear();
        reportedSince = Date.now();
      }
      const key = `${d.group}|${d.feed}|${d.line}|${ctx.clientAddress}`;
      if (reported.has(key)) return;
      reported.add(key);
      send({ type: 'policy', client: ctx.clientAddress, qname: presentName(nameLabels(ctx.request, HEADER_LENGTH)), decision: d });
    },
  }, { reusePort: data.reusePort, tcp: data.tcp });
  const report = (): ThreadReport => ({
    index: data.index,
    plane: plane.snapshot(),
    latency: { counts: [...plane.stats.latency.counts], sum: plane.stats.latency.sum, count: plane.stats.latency.count },
    upstreamLatencies: plane.upstreamLatencies().map((u) => ({ labels: u.labels, counts: [...u.histogram.counts], sum: u.histogram.sum, count: u.histogram.count })),
    gate: { repeats: gate.repeats, blocked: gate.blocked, wouldBlock: gate.wouldBlock, held: gate.held, holding: gate.holding, holdTimeouts: gate.holdTimeouts, holdsRefused: gate.holdsRefused, summariesDropped: gate.summariesDropped },
    queryLog: queryLog === null ? null : { logged: queryLog.logged, dropped: queryLog.dropped, writeErrors: queryLog.writeErrors },
    loopDelayMs: takeLoopDelay(),
  });
  const takeLoopDelay = () => {
    const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
    const out = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
    loopDelay.reset();
    return out;
  };
  try {
    await plane.start();
  } catch (err) {
    send({ type: 'failed', error: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
    return;
  }
  plane.parts.defence.setDynamicBlocks(data.dynamicBlocks);
  send({ type: 'stats', report: report() });
  send({ type: 'ready', bound: plane.boundAddresses() });
  const timer = setInterval(() => send({ type: 'stats', report: report() }), STATS_MS);
  const sendTraffic = () => {
    const deltas = plane.parts.defence.takeTraffic();
    if (deltas !== null) send({ type: 'traffic', deltas });
  };
  const trafficTimer = setInterval(sendTraffic, TRAFFIC_MS);
  let reloading = Promise.resolve();
  port.on('message', (m: ToIoThread) => {
    switch (m.type) {
      case 'reload':
        reloading = reloading.then(async () => {
          const next = m.config;
          gate.configure(gateSettings(next));
          if (queryLog !== null) queryLog.mode = next.queryLog.mode;
          try {
            if (m.feeds !== null) feeds.update(m.feeds);
            await plane.reload(next, m.feeds === null ? null : feeds);
          } catch (err) {
            log.error({ err: (err as Error).message }, 'reload applied only in part');
          }
          config = next;
          send({ type: 'stats', report: report() });
        });
        break;
      case 'feeds':
        feeds.update(m.feeds);
        break;
      case 'floods':
        plane.parts.flood.flags.set(m.floods, m.share);
        break;
      case 'report':
        send({ type: 'stats', report: report() });
        break;
      case 'guard-mode':
        gate.configure({ ...gateSettings(config), mode: m.mode });
        break;
      case 'dynamic-blocks':
        plane.parts.defence.setDynamicBlocks(m.blocks);
        break;
      case 'stop':
        void reloading.then(async () => {
          clearInterval(timer);
          clearInterval(trafficTimer);
          await plane.stop();
          await queryLog?.close();
          send({ type: 'stats', report: report() });
          send({ type: 'stopped' });
          port.close();
        });
        break;
    }
  });
}

void main();
