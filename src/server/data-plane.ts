/**
 * The data plane: listeners, the pipeline, the packet cache, upstream pools and their health
 * checks, the policy stage and dnstap, built from a validated Config and reloadable in place.
 * It runs on an I/O thread (src/plane/io-thread.ts), or inline on the only thread when
 * `threads: 0`. What decides on Tunnel Guard (the detector itself, or a gate to the brain's
 * block table) is handed in: the data plane does not know which.
 */
import type { Logger } from 'pino';
import { PacketCache, type PacketCacheOptions } from '../cache/packet-cache.js';
import type { Config } from '../config/schema.js';
import { DnstapLogger } from '../dnstap/dnstap-logger.js';
import { QueryStats } from '../ops/query-stats.js';
import type { BlockCount, ServerSnapshot } from '../ops/server-snapshot.js';
import { buildPipeline, type GuardStageLike, type PipelineParts } from '../pipeline/build-pipeline.js';
import type { QueryContext } from '../pipeline/query-context.js';
import type { Observer } from '../pipeline/stage.js';
import { DefenceStage } from '../pipeline/stages/defence-stage.js';
import { type FloodSettings, FloodStage, type FloodStageCounters } from '../pipeline/stages/flood-stage.js';
import { ShedStage } from '../pipeline/stages/shed-stage.js';
import { OverloadShedder } from '../defence/overload-shedder.js';
import { PolicyStage } from '../pipeline/stages/policy-stage.js';
import type { FeedSource } from '../policy/feed-manager.js';
import { type PolicyDecision, PolicyEngine } from '../policy/policy-engine.js';
import { buildProbe, HealthChecker } from '../upstream/health-checker.js';
import type { Upstream } from '../upstream/upstream.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { ZoneRouter } from '../upstream/zone-router.js';
import { allListeners, findListener, formatHostPort, type HostPort } from '../util/address.js';
import { listenOrExplain } from '../util/listen.js';
import { packageVersion } from '../util/package-version.js';
import { loadNativeUdp, nativeUdpFailure } from '../net/native-udp.js';
import { DohListener, sumDohStats } from './doh-listener.js';
import { sumTcpStats, TcpListener, type TcpListenerOptions } from './tcp-listener.js';
import { UdpBatchListener } from './udp-batch-listener.js';
import { UdpListener } from './udp-listener.js';
import { ZoneStage } from '../pipeline/stages/zone-stage.js';
import { buildZoneSet, type LoadedZone } from '../zones/zone-set.js';

type AnyUdpListener = UdpListener | UdpBatchListener;

/** ADDR:PORT actually bound, per kind of listener. */
export interface BoundAddresses {
  udp: string[];
  tcp: string[];
  dot: string[];
  doh: string[];
}

const SWEEP_INTERVAL_MS = 20;

export interface DataPlaneParts {
  guard: GuardStageLike;
  feeds: FeedSource;
  /** The query log's observer (every finished query), when there is one on this thread. */
  queryLog: (Observer & { mode: Config['queryLog']['mode'] }) | null;
  onPolicy(ctx: QueryContext, decision: PolicyDecision): void;
}

export interface DataPlaneOptions {
  /** Bind UDP with SO_REUSEPORT (every I/O thread binds the same addresses). */
  reusePort: boolean;
  /** Listen on TCP too, and DNS over TLS and HTTPS (Node 20's net has no SO_REUSEPORT: one I/O thread takes TCP). */
  tcp: boolean;
}

/** The counters the data plane owns, as a part of ServerSnapshot. */
export type DataPlaneSnapshot = Pick<
  ServerSnapshot,
  | 'queries'
  | 'responseTypes'
  | 'rcodes'
  | 'qtypes'
  | 'malformed'
  | 'cache'
  | 'upstreams'
  | 'inFlight'
  | 'dnstap'
  | 'tcp'
  | 'encrypted'
  | 'stageErrors'
  | 'defence'
  | 'overload'
  | 'zoneAnswers'
> & {
  flood: FloodStageCounters;
  blocks: BlockCount[];
  policy: { blocked: number; wouldBlock: number; errors: number };
};

export class DataPlane {
  readonly stats = new QueryStats();
  stageErrors = 0;
  private cache: PacketCache;
  private router: ZoneRouter;
  private health: HealthChecker;
  readonly parts: PipelineParts;
  private udpListeners = new Map<string, AnyUdpListener>();
  private tcpListeners = new Map<string, TcpListener>();
  /** DNS over TLS: TCP listeners with a certificate. */
  private dotListeners = new Map<string, TcpListener>();
  private dohListeners = new Map<string, DohListener>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private retiredRouters = new Set<ZoneRouter>();
  readonly dnstap: DnstapLogger | null;
  readonly policyStage: PolicyStage;
  private warnedNoNative = false;

  constructor(
    private config: Config,
    private readonly log: Logger,
    private readonly plug: DataPlaneParts,
    private readonly options: DataPlaneOptions = { reusePort: false, tcp: true },
  ) {
    this.cache = new PacketCache(cacheOptions(config));
    this.router = this.buildRouter(config);
    this.health = this.buildHealthChecker(config);
    this.policyStage = new PolicyStage(
      new PolicyEngine(plug.feeds, config.policy, config.listen),
      config.policy.sinkhole,
      (ctx, d) => plug.onPolicy(ctx, d),
      (err) => this.log.error({ err }, 'policy failed: query let through (fail open)'),
    );
    const dt = config.dnstap;
    this.dnstap =
      dt === null
        ? null
        : new DnstapLogger(
            {
              address: dt.address,
              identity: dt.identity,
              version: packageVersion(),
              logQueries: dt.queries,
              logResponses: dt.responses,
              maxBufferedBytes: dt.maxBuffered,
            },
            (err) => this.log.warn({ err: err.message }, 'dnstap collector unreachable'),
          );
    const observers: Observer[] = [
      this.stats,
      ...(plug.queryLog ? [plug.queryLog] : []),
      ...(this.dnstap ? [this.dnstap] : []),
    ];
    this.parts = buildPipeline(
      this.cache,
      this.router,
      new DefenceStage(config.defence),
      this.policyStage,
      new ZoneStage(
        buildZoneSet(config.zones, (ref) => listenerKeyOf(ref, config)),
        (ctx) => this.policyStage.groupOf(ctx)?.config.name,
      ),
      plug.guard,
      new FloodStage(floodSettings(config), this.cache),
      new ShedStage(new OverloadShedder(config.defence.overload)),
      observers,
      (stage, error) => {
        this.stageErrors++;
        this.log.error({ stage, err: error }, 'pipeline stage failed');
      },
    );
  }

  get pipeline() {
    return this.parts.pipeline;
  }

  async start(): Promise<void> {
    await this.syncListeners(this.config);
    this.health.start();
    this.parts.zone.start();
    this.parts.shed.shedder.start();
    this.dnstap?.start();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Addresses actually bound, e.g. after listening on port 0 in tests. */
  boundAddresses(): BoundAddresses {
    const bound = (ls: Iterable<{ address: HostPort; boundPort: number }>) =>
      [...ls].map((l) => formatHostPort({ host: l.address.host, port: l.boundPort }));
    return {
      udp: bound(this.udpListeners.values()),
      tcp: bound(this.tcpListeners.values()),
      dot: bound(this.dotListeners.values()),
      doh: bound(this.dohListeners.values()),
    };
  }

  /**
   * Applies a new configuration without dropping queries: listeners stay open (new ones are
   * added, removed ones closed), queries in flight finish on the pools they started on, and
   * the cache keeps its content unless its bounds changed. `feeds` are the policy feeds from
   * now on when they changed (else null).
   */
  async reload(next: Config, feeds: FeedSource | null): Promise<void> {
    const oldRouter = this.router;
    this.router = this.buildRouter(next);
    this.parts.upstream.router = this.router;
    this.health.stop();
    this.health = this.buildHealthChecker(next);
    this.health.start();
    this.retiredRouters.add(oldRouter);
    const grace = this.config.upstreams.timeout * this.config.upstreams.attempts + 1000;
    setTimeout(() => {
      for (const pool of oldRouter.pools) pool.close();
      this.retiredRouters.delete(oldRouter);
    }, grace).unref();

    if (JSON.stringify(cacheOptions(next)) !== JSON.stringify(cacheOptions(this.config))) {
      this.cache = new PacketCache(cacheOptions(next));
      this.parts.cache.cache = this.cache;
      this.parts.upstream.cache = this.cache;
      this.parts.flood.cache = this.cache;
      this.log.info('cache bounds changed: cache restarted empty');
    }
    this.parts.defence.configure(next.defence);
    if (JSON.stringify(next.zones) !== JSON.stringify(this.config.zones))
      this.parts.zone.setZones(buildZoneSet(next.zones, (ref) => listenerKeyOf(ref, next)));
    this.parts.flood.configure(floodSettings(next));
    this.parts.shed.shedder.configure(next.defence.overload);
    for (const l of this.tcpListeners.values()) l.setOptions(tcpOptions(next));
    for (const l of this.dotListeners.values()) l.setOptions(tcpOptions(next));
    await this.syncListeners(next);
    // Groups name listeners, so a change to either rebuilds the engine (over the same feeds when they did not change).
    if (
      feeds !== null ||
      JSON.stringify(next.policy) !== JSON.stringify(this.config.policy) ||
      JSON.stringify(next.listen) !== JSON.stringify(this.config.listen)
    ) {
      this.policyStage.engine = new PolicyEngine(feeds ?? this.plug.feeds, next.policy, next.listen);
      if (feeds !== null) this.plug.feeds = feeds;
    }
    this.config = next;
  }

  /** A zone file changed (the watcher read it again): the zones served from now on, the rest of the config as it is. */
  setZones(zones: LoadedZone[]): void {
    this.parts.zone.setZones(buildZoneSet(zones, (ref) => listenerKeyOf(ref, this.config)));
    this.config = { ...this.config, zones };
  }

  /**
   * Stops accepting, lets queries in flight finish (up to the drain timeout), then closes.
   * UDP sockets stay open until the drain ends, so answers to queries in flight can leave.
   */
  async stop(): Promise<void> {
    this.health.stop();
    this.parts.zone.stop();
    this.parts.shed.shedder.stop();
    const udp = [...this.udpListeners.values()];
    for (const l of udp) l.stopAccepting();
    const tcpClosing = [
      ...this.tcpListeners.values(),
      ...this.dotListeners.values(),
      ...this.dohListeners.values(),
    ].map((l) => l.close());
    this.udpListeners.clear();
    this.tcpListeners.clear();
    this.dotListeners.clear();
    this.dohListeners.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.shutdown.drainTimeout)));
    await Promise.race([Promise.all([this.pipeline.drained(), ...tcpClosing]), timeout]);
    clearTimeout(timer);
    await Promise.all(udp.map((l) => l.close()));
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.dnstap?.close();
    for (const pool of this.router.pools) pool.close();
    for (const r of this.retiredRouters) for (const pool of r.pools) pool.close();
  }

  /** Per-upstream answer latency, for the metrics histogram. */
  upstreamLatencies(): Array<{ labels: { pool: string; upstream: string }; histogram: Upstream['stats']['latency'] }> {
    return this.router.pools.flatMap((pool) =>
      pool.upstreams.map((u) => ({
        labels: { pool: pool.options.name, upstream: u.name },
        histogram: u.stats.latency,
      })),
    );
  }

  snapshot(): DataPlaneSnapshot {
    const upstreams = this.router.pools.flatMap((pool) =>
      pool.upstreams.map((u) => ({
        pool: pool.options.name,
        name: u.name,
        protocol: u.options.protocol,
        healthy: u.healthy,
        outstanding: u.outstanding,
        connections: u.connections,
        queries: u.stats.queries,
        answers: u.stats.answers,
        timeouts: u.stats.timeouts,
        errors: u.stats.errors,
        mismatched: u.stats.mismatched,
        tcpFallbacks: u.stats.tcpFallbacks,
        timeoutsWhileAnswering: u.stats.timeoutsWhileAnswering,
        inFlightLimited: u.inFlightLimited,
        socketOpenFailures: u.socketOpenFailures,
        latencyAvgMs: u.stats.latency.count ? u.stats.latency.sum / u.stats.latency.count : 0,
      })),
    );
    return {
      queries: { ...this.stats.byTransport },
      responseTypes: Object.fromEntries(this.stats.byResponseType),
      rcodes: this.stats.rcodes(),
      qtypes: this.stats.qtypes(),
      malformed: Object.fromEntries(this.parts.parse.malformed),
      cache: {
        hits: this.parts.cache.hits,
        misses: this.parts.cache.misses,
        entries: this.cache.size,
        bytes: this.cache.bytes,
        ...this.cache.stats,
        staleServed: this.parts.upstream.staleServed,
      },
      upstreams,
      inFlight: this.pipeline.queriesInFlight,
      blocks: [...this.parts.policy.blockCounts(), ...this.parts.guard.blockCounts()],
      policy: {
        blocked: this.parts.policy.blocked,
        wouldBlock: this.parts.policy.wouldBlock,
        errors: this.parts.policy.errors,
      },
      dnstap: this.dnstap ? { ...this.dnstap.writer.stats } : null,
      tcp: sumTcpStats([...this.tcpListeners.values()].map((l) => l.stats())),
      encrypted: {
        dot: {
          ...sumTcpStats([...this.dotListeners.values()].map((l) => l.stats())),
          handshakeFailures: [...this.dotListeners.values()].reduce((n, l) => n + l.handshakeFailures, 0),
        },
        doh: sumDohStats([...this.dohListeners.values()].map((l) => l.stats())),
      },
      stageErrors: this.stageErrors,
      defence: this.parts.defence.counters(),
      flood: this.parts.flood.counters(),
      overload: this.parts.shed.shedder.counters(),
      zoneAnswers: { ...this.parts.zone.counts, outsideView: this.parts.zone.outsideView },
    };
  }

  private sweep(): void {
    const now = performance.now();
    for (const pool of this.router.pools) pool.sweep(now);
    for (const r of this.retiredRouters) for (const pool of r.pools) pool.sweep(now);
  }

  private buildRouter(config: Config): ZoneRouter {
    const onHealth = (u: Upstream) =>
      this.log.warn(
        { upstream: u.name, healthy: u.healthy, consecutiveFailures: u.consecutiveFailures },
        u.healthy ? 'upstream is up' : 'upstream is down',
      );
    const up = config.upstreams;
    const probe = { wire: buildProbe(up.healthCheck.name, up.healthCheck.type), timeoutMs: up.healthCheck.timeout };
    const upstreamOptions = (servers: Config['upstreams']['servers']) =>
      servers.map((s) => ({
        address: s.address,
        protocol: s.protocol,
        path: s.path,
        tls: s.tls,
        sockets: up.sockets,
        rotateSocketsAfter: up.rotateSocketsAfter,
        tcpIdleMs: up.tcpIdleTimeout,
        maxFailures: up.maxFailures,
        native: config.udp.io === 'dgram' ? null : loadNativeUdp(),
        maxInFlightPerSocket: up.maxInFlightPerSocket,
        probe,
      }));
    const defaultPool = new UpstreamPool(
      {
        name: 'default',
        policy: up.policy,
        upstreams: upstreamOptions(up.servers),
        timeoutMs: up.timeout,
        attempts: up.attempts,
      },
      onHealth,
    );
    const zones = config.forwardZones.map((z) => ({
      zone: z.zone,
      pool: new UpstreamPool(
        {
          name: z.zone,
          policy: z.policy,
          upstreams: upstreamOptions(z.servers),
          timeoutMs: up.timeout,
          attempts: up.attempts,
        },
        onHealth,
      ),
    }));
    return new ZoneRouter(defaultPool, zones);
  }

  private buildHealthChecker(config: Config): HealthChecker {
    const hc = config.upstreams.healthCheck;
    const router = this.router;
    return new HealthChecker(
      { intervalMs: hc.interval, timeoutMs: hc.timeout, name: hc.name, qtype: hc.type, mustResolve: hc.mustResolve },
      () => router.pools.flatMap((p) => p.upstreams),
    );
  }

  /**
   * The batched native socket when the addon loaded (udp.io auto/native), else node:dgram.
   * `native` without the addon is an error, so an operator who asked for it notices.
   */
  private createUdpListener(address: HostPort, config: Config): AnyUdpListener | null {
    if (config.udp.io !== 'dgram') {
      const native = loadNativeUdp();
      if (native)
        return new UdpBatchListener(address, this.pipeline, native, config.udp.receiveBuffer, this.options.reusePort);
      if (config.udp.io === 'native') throw new Error(`udp.io is "native" but ${nativeUdpFailure()}`);
      if (!this.warnedNoNative)
        this.log.warn({ reason: nativeUdpFailure() }, 'batched UDP I/O unavailable: using node:dgram');
      this.warnedNoNative = true;
    }
    // node:dgram on Node 20 cannot share a port between threads: the first I/O thread takes it.
    if (!this.options.tcp) return null;
    return new UdpListener(address, this.pipeline, config.udp.receiveBuffer);
  }

  /**
   * DNS over TLS and HTTPS listeners: added, removed, and on a reload given the certificate read
   * anew (open connections keep theirs). A certificate and key that do not match fail the
   * reload, and the listener keeps the old pair.
   */
  private async syncEncryptedListeners(config: Config): Promise<void> {
    const wantedDot = new Set<string>();
    for (const d of config.dot) {
      const key = formatHostPort(d.listen);
      wantedDot.add(key);
      const existing = this.dotListeners.get(key);
      if (existing) {
        existing.setCertificate(d);
        continue;
      }
      const listener = new TcpListener(d.listen, this.pipeline, tcpOptions(config), d);
      await listenOrExplain(listener, key, 'tls');
      this.dotListeners.set(key, listener);
      this.log.info({ address: key, transport: 'tls' }, 'listening');
    }
    const wantedDoh = new Set<string>();
    for (const d of config.doh) {
      const key = formatHostPort(d.listen);
      wantedDoh.add(key);
      const existing = this.dohListeners.get(key);
      if (existing) {
        existing.setCertificate(d);
        existing.setOptions(tcpOptions(config), d.path);
        continue;
      }
      const listener = new DohListener(d.listen, this.pipeline, tcpOptions(config), d, d.path);
      await listenOrExplain(listener, key, 'https');
      this.dohListeners.set(key, listener);
      this.log.info({ address: key, transport: 'https', path: d.path }, 'listening');
    }
    for (const [key, l] of this.dotListeners)
      if (!wantedDot.has(key)) {
        this.dotListeners.delete(key);
        void l.close();
      }
    for (const [key, l] of this.dohListeners)
      if (!wantedDoh.has(key)) {
        this.dohListeners.delete(key);
        void l.close();
      }
  }

  private async syncListeners(config: Config): Promise<void> {
    const wantedUdp = new Set<string>();
    const wantedTcp = new Set<string>();
    for (const l of config.listen) {
      const key = formatHostPort(l.address);
      if (l.protocols.includes('udp')) {
        wantedUdp.add(key);
        if (!this.udpListeners.has(key)) {
          const listener = this.createUdpListener(l.address, config);
          if (listener !== null) {
            await listenOrExplain(listener, key, 'udp');
            this.udpListeners.set(key, listener);
            this.log.info(
              {
                address: key,
                transport: 'udp',
                io: listener instanceof UdpBatchListener ? 'native recvmmsg/sendmmsg' : 'node:dgram',
              },
              'listening',
            );
          }
        }
      }
      if (l.protocols.includes('tcp') && this.options.tcp) {
        wantedTcp.add(key);
        if (!this.tcpListeners.has(key)) {
          const listener = new TcpListener(l.address, this.pipeline, tcpOptions(config));
          await listenOrExplain(listener, key, 'tcp');
          this.tcpListeners.set(key, listener);
          this.log.info({ address: key, transport: 'tcp' }, 'listening');
        }
      }
    }
    if (this.options.tcp) await this.syncEncryptedListeners(config);
    for (const [key, l] of this.udpListeners)
      if (!wantedUdp.has(key)) {
        this.udpListeners.delete(key);
        void l.close();
      }
    for (const [key, l] of this.tcpListeners)
      if (!wantedTcp.has(key)) {
        this.tcpListeners.delete(key);
        void l.close();
      }
  }
}

/** A zone view's listener (a name or address of any listener) as the key its queries carry. */
function listenerKeyOf(ref: string, config: Config): string | undefined {
  return findListener(ref, allListeners(config));
}

function cacheOptions(config: Config): PacketCacheOptions {
  const c = config.cache;
  return {
    maxEntries: c.enabled ? c.maxEntries : 1,
    maxBytes: c.enabled ? c.maxBytes : 0,
    minTtl: Math.floor(c.minTtl / 1000),
    maxTtl: Math.floor(c.maxTtl / 1000),
    maxNegativeTtl: Math.floor(c.maxNegativeTtl / 1000),
    staleSeconds: c.serveStale.enabled ? Math.floor(c.serveStale.maxStale / 1000) : 0,
    staleAnswerTtl: c.serveStale.answerTtl,
  };
}

function floodSettings(config: Config): FloodSettings {
  const r = config.defence.randomSubdomain;
  return { enabled: r.enabled, mode: r.mode, maxZoneInFlight: r.maxZoneInFlight };
}

function tcpOptions(config: Config): TcpListenerOptions {
  const t = config.tcp;
  return {
    idleTimeoutMs: t.idleTimeout,
    readTimeoutMs: t.readTimeout,
    writeTimeoutMs: t.writeTimeout,
    maxConnections: t.maxConnections,
    maxConnectionsPerClient: t.maxConnectionsPerClient,
    maxInFlightPerConnection: t.maxInFlightPerConnection,
    maxBufferedPerConnection: t.maxBufferedPerConnection,
    maxBufferedTotal: t.maxBufferedTotal,
  };
}
