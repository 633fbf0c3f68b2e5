/**
 * One dnsward process (or cluster worker): listeners, pipeline, cache and upstream pools,
 * built from a validated Config, reloadable in place. The console and the metrics listener are
 * not built here: DnswardNode (dnsward-node.ts) wires them to this server.
 */
import { EventRateLimiter, POLICY_EVENT_LIMITS } from '../events/event-rate-limiter.js';
import type { Logger } from 'pino';
import { PacketCache, type PacketCacheOptions } from '../cache/packet-cache.js';
import type { Config } from '../config/schema.js';
import { QueryStats } from '../ops/query-stats.js';
import type { ServerSnapshot } from '../ops/server-snapshot.js';
import { buildPipeline, type PipelineParts } from '../pipeline/build-pipeline.js';
import { GuardStage } from '../pipeline/stages/guard-stage.js';
import { DefenceStage } from '../pipeline/stages/defence-stage.js';
import type { QueryContext } from '../pipeline/query-context.js';
import { applyOperatorState, type OperatorState, operatorState, restoreGuardParts, snapshotGuardParts, snapshotGuardPartsNow } from '../guard/guard-snapshot.js';
import { TunnelGuard } from '../guard/tunnel-guard.js';
import { BackgroundRelearner } from '../guard/background-relearner.js';
import type { Verdict } from '../guard/verdict.js';
import { nameLabels, presentName } from '../dns/name.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import { type AuditEntry, GuardStore } from '../store/guard-store.js';
import { EventBus, type EventSink } from '../events/event-bus.js';
import { securityEvent, type SecurityEventType } from '../events/security-event.js';
import { JsonlFileSink } from '../events/sinks/jsonl-file-sink.js';
import { SyslogSink } from '../events/sinks/syslog-sink.js';
import { HttpSink } from '../events/sinks/http-sink.js';
import { QueryLog } from '../querylog/query-log.js';
import { FeedManager, feedConfigs } from '../policy/feed-manager.js';
import { PolicyEngine, type PolicyDecision } from '../policy/policy-engine.js';
import { PolicyStage } from '../pipeline/stages/policy-stage.js';
import { DnstapLogger } from '../dnstap/dnstap-logger.js';
import { packageVersion } from '../util/package-version.js';
import { ensurePrivateDir } from '../util/private-files.js';
import type { ControlRequest } from '../control/control-protocol.js';
import { anatomize } from '../guard/name-anatomy.js';
import { labelsFromText } from '../guard/name-text.js';
import { join } from 'node:path';
import { buildProbe, HealthChecker } from '../upstream/health-checker.js';
import type { Upstream } from '../upstream/upstream.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { ZoneRouter } from '../upstream/zone-router.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { listenOrExplain } from '../util/listen.js';
import { sumTcpStats, TcpListener, type TcpListenerOptions } from './tcp-listener.js';
import cluster from 'node:cluster';
import { loadNativeUdp, nativeUdpFailure } from './native-udp.js';
import { UdpBatchListener } from './udp-batch-listener.js';
import { UdpListener } from './udp-listener.js';

type AnyUdpListener = UdpListener | UdpBatchListener;

const SWEEP_INTERVAL_MS = 20;
const FEED_START_WAIT_MS = 10_000;

export class DnswardServer {
  readonly stats = new QueryStats();
  stageErrors = 0;
  private cache: PacketCache;
  private router: ZoneRouter;
  private health: HealthChecker;
  private readonly parts: PipelineParts;
  private udpListeners = new Map<string, AnyUdpListener>();
  private tcpListeners = new Map<string, TcpListener>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private retiredRouters = new Set<ZoneRouter>();
  readonly guard: TunnelGuard;
  private readonly relearner: BackgroundRelearner;
  guardStore: GuardStore | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  readonly events: EventBus;
  readonly queryLog: QueryLog;
  readonly dnstap: DnstapLogger | null;
  /** Response-policy feeds (replaced whole when a reload changes policy.feeds). */
  feeds: FeedManager;
  private readonly policyStage: PolicyStage;
  /** Policy events already published (group, feed, rule, client), so a repeated block does not flood the SIEM. */
  private readonly reportedPolicy = new Set<string>();
  private readonly policyEventLimit = new EventRateLimiter();
  private reportedPolicySince = Date.now();
  /** A background snapshot is being built (one at a time). */
  private building = false;
  /** Incidents already logged, so a blocked domain's every query does not log again (bounded). */
  private readonly loggedIncidents = new Set<string>();
  private readonly snapshotName = cluster.isWorker ? `guard-worker-${cluster.worker?.id ?? 0}` : 'guard';

  constructor(private config: Config, private readonly log: Logger) {
    this.cache = new PacketCache(cacheOptions(config));
    this.router = this.buildRouter(config);
    this.health = this.buildHealthChecker(config);
    const g = config.guard;
    const sinks: EventSink[] = [];
    if (config.events.file !== null) sinks.push(new JsonlFileSink(config.events.file.path, config.events.file.maxSize, config.events.file.keep, config.events.file.maxAge, Date.now, config.events.file.format));
    for (const s of config.events.syslog) sinks.push(new SyslogSink(s));
    for (const h of config.events.http) sinks.push(new HttpSink({ ...h, timeoutMs: h.timeout }));
    const ql = config.queryLog;
    this.queryLog = new QueryLog({ path: join(config.dataDir, 'querylog.db'), mode: ql.mode, maxAgeMs: ql.maxAge, maxBytes: ql.maxSize }, (err) => this.log.error({ err }, 'query log failed'));
    // Every security event is kept in the query log's store, whatever other sinks are configured.
    sinks.push(this.queryLog);
    this.events = new EventBus(sinks, config.events.queueSize, (sink, err) => this.log.error({ sink, err }, 'event sink failed'));
    this.relearner = new BackgroundRelearner((err) => this.log.error({ err }, 'Tunnel Guard retraining failed: keeping the previous model'));
    this.guard = new TunnelGuard({ sensitivity: g.sensitivity, maxDomains: g.maxDomains, maxClients: g.maxClients, maxPairs: g.maxPairs, relearner: this.relearner });
    const guardStage = new GuardStage(this.guard, g, (ctx, verdict, enforced) => this.onVerdict(ctx, verdict, enforced), (err) => {
      this.log.error({ err }, 'Tunnel Guard failed: query let through (fail open)');
      this.events.publish(securityEvent({ type: 'detector_fail_open', severity: 5, reasons: [String((err as Error)?.message ?? err)], stages: [] }));
    });
    this.feeds = this.buildFeeds(config);
    this.policyStage = new PolicyStage(new PolicyEngine(this.feeds, config.policy, config.listen), config.policy.sinkhole, (ctx, d) => this.onPolicy(ctx, d), (err) => this.log.error({ err }, 'policy failed: query let through (fail open)'));
    const dt = config.dnstap;
    this.dnstap = dt === null ? null : new DnstapLogger({ address: dt.address, identity: dt.identity, version: packageVersion(), logQueries: dt.queries, logResponses: dt.responses, maxBufferedBytes: dt.maxBuffered }, (err) => this.log.warn({ err: err.message }, 'dnstap collector unreachable'));
    const observers = [this.stats, this.queryLog, ...(this.dnstap ? [this.dnstap] : [])];
    this.parts = buildPipeline(this.cache, this.router, new DefenceStage(config.defence), this.policyStage, guardStage, observers, (stage, error) => {
      this.stageErrors++;
      this.log.error({ stage, err: error }, 'pipeline stage failed');
    });
  }

  get pipeline() {
    return this.parts.pipeline;
  }

  get guardDetectorTime() {
    return this.parts.guard.detectorTime;
  }

  async start(): Promise<void> {
    this.openGuardStore();
    await this.startFeeds(this.feeds);
    await this.syncListeners(this.config);
    this.health.start();
    this.dnstap?.start();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Addresses actually bound, e.g. after listening on port 0 in tests. */
  boundAddresses(): { udp: string[]; tcp: string[] } {
    const udp = [...this.udpListeners.values()].map((l) => formatHostPort({ host: l.address.host, port: l.boundPort }));
    const tcp = [...this.tcpListeners.values()].map((l) => formatHostPort({ host: l.address.host, port: l.boundPort }));
    return { udp, tcp };
  }

  /**
   * Applies a new configuration without dropping queries: listeners stay open (new ones are
   * added, removed ones closed), queries in flight finish on the pools they started on, and
   * the cache keeps its content unless its bounds changed.
   */
  async reload(next: Config): Promise<void> {
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
      this.log.info('cache bounds changed: cache restarted empty');
    }
    for (const l of this.tcpListeners.values()) l.setOptions(tcpOptions(next));
    this.parts.defence.configure(next.defence);
    await this.syncListeners(next);
    this.parts.guard.configure(this.monitorUntil === null ? next.guard : { ...next.guard, mode: 'monitor' });
    const feedsChanged = JSON.stringify(next.policy.feeds) !== JSON.stringify(this.config.policy.feeds);
    const old = this.feeds;
    if (feedsChanged) {
      // New feeds load before they replace the old ones: queries never see an empty policy.
      this.feeds = this.buildFeeds(next);
      await this.startFeeds(this.feeds);
    }
    // Groups name listeners, so a change to either rebuilds the engine (over the same feeds when they did not change).
    if (feedsChanged || JSON.stringify(next.policy) !== JSON.stringify(this.config.policy) || JSON.stringify(next.listen) !== JSON.stringify(this.config.listen)) {
      this.policyStage.engine = new PolicyEngine(this.feeds, next.policy, next.listen);
    }
    if (feedsChanged) await old.stop();
    this.queryLog.mode = next.queryLog.mode;
    this.guard.setSensitivity(next.guard.sensitivity);
    if (next.guard.snapshotInterval !== this.config.guard.snapshotInterval) this.startSnapshots(next.guard.snapshotInterval);
    this.config = next;
  }

  /** Restores what Tunnel Guard learned before (a restart, even after kill -9, resumes from the last snapshot). */
  private openGuardStore(): void {
    ensurePrivateDir(this.config.dataDir);
    this.guardStore = new GuardStore(join(this.config.dataDir, 'dnsward.db'), (err) => this.log.error({ err }, 'guard store error'));
    try {
      const saved = this.guardStore.load(this.snapshotName);
      if (saved !== undefined) {
        restoreGuardParts(this.guard, saved.parts);
        this.log.info({ savedAt: new Date(saved.savedAt).toISOString(), bytes: saved.bytes, domains: this.guard.domains.size, blocks: this.guard.activeBlocks(Date.now() / 1000).length }, 'Tunnel Guard state restored');
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'Tunnel Guard state could not be restored: starting from the prior');
    }
    // The operator's decisions have their own row, newer than any snapshot: they apply over it.
    try {
      const operator = this.guardStore.loadOperator(this.snapshotName) as OperatorState | undefined;
      if (operator !== undefined) {
        const monitorUntil = applyOperatorState(this.guard, operator, Date.now() / 1000);
        if (monitorUntil !== null) this.setMonitor(monitorUntil);
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'Tunnel Guard operator decisions could not be restored');
    }
    this.startSnapshots(this.config.guard.snapshotInterval);
  }

  private startSnapshots(intervalMs: number): void {
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.snapshotTimer = setInterval(() => this.saveGuard(false), intervalMs);
    this.snapshotTimer.unref();
  }

  /**
   * Snapshots the guard. In the background, the tables are built a few hundred entries per
   * event-loop turn and a writer thread joins and writes them; `now` builds and writes on this
   * thread (shutdown only: operator changes are saved in their own small row, see control()).
   */
  saveGuard(now: boolean): void {
    const store = this.guardStore;
    if (store === null) return;
    this.guard.expire(Date.now() / 1000);
    if (now) {
      store.saveNow(this.snapshotName, snapshotGuardPartsNow(this.guard));
      return;
    }
    if (this.building || store.busy) return;
    this.building = true;
    snapshotGuardParts(this.guard, () => new Promise((resolve) => setImmediate(resolve)))
      .then((p) => store.saveInBackground(this.snapshotName, p))
      .catch((err) => this.log.error({ err }, 'Tunnel Guard snapshot failed'))
      .finally(() => (this.building = false));
  }

  /**
   * Operator commands from the control channel; throws with a message the CLI shows. A change is
   * applied, then saved with its audit entry in one small transaction (the operator row, not a
   * snapshot of everything learned: that took seconds on the event loop with a big guard); when
   * the save fails (disk full) the change is undone and the error says so.
   */
  control(request: ControlRequest): unknown {
    const now = Date.now() / 1000;
    const persist = (action: string, subject: string, detail: object, undo: () => void) => {
      const store = this.guardStore;
      if (store === null) return;
      try {
        store.saveOperator(this.snapshotName, operatorState(this.guard, this.monitorUntil), { at: Date.now(), who: request.who, action, subject, detail: JSON.stringify(detail) });
      } catch (err) {
        undo();
        throw new Error(`${action} ${subject} not applied: it could not be saved (${(err as Error).message})`);
      }
    };
    const audit = (action: string, subject: string, detail: object, undo: () => void) => {
      persist(action, subject, detail, undo);
      const type: SecurityEventType = action === 'allow' ? 'allow_override' : action === 'unblock' ? 'domain_unblocked' : action === 'quarantine' ? 'client_quarantined' : 'client_released';
      const isClient = action === 'quarantine' || action === 'release';
      this.events.publish(securityEvent({ type, severity: 3, operator: request.who, ...(isClient ? { client: subject } : { domain: subject }), reasons: [`${action} ${subject} by ${request.who}`, JSON.stringify(detail)], stages: [] }));
    };
    const registered = (name: string) => {
      const labels = labelsFromText(name.toLowerCase());
      if (labels.length === 0) throw new Error(`"${name}" is not a domain name`);
      return anatomize(labels).registeredDomain;
    };
    let result: unknown;
    switch (request.cmd) {
      case 'blocks':
        return {
          mode: this.parts.guard.mode,
          blocks: this.guard.activeBlocks(now).map((b) => ({ domain: b.domain, scope: b.scope, incident: b.incident, since: b.since, until: b.until, offenses: b.offenses, client: b.client, leakedBytes: b.leaked, reasons: b.reasons, stages: b.stages })),
          allows: this.guard.overrides.filter((o) => o.until > now).map(({ match: _m, ...o }) => o),
          quarantines: this.guard.quarantines.filter((q) => q.until > now).map(({ match: _m, ...q }) => q),
          audit: this.auditLog(20),
        };
      case 'allow': {
        if (request.domain === undefined && request.client === undefined) throw new Error('allow needs a domain, a client range, or both');
        const domain = request.domain === undefined ? undefined : registered(request.domain);
        const overrides = this.guard.overrides;
        const lifted = domain !== undefined && request.client === undefined ? this.guard.blocksOn(domain) : [];
        this.guard.allow({ domain, client: request.client, until: now + request.seconds, by: request.who, at: now });
        result = { domain, client: request.client, until: now + request.seconds };
        audit('allow', domain ?? request.client!, result as object, () => {
          this.guard.overrides = overrides;
          this.guard.restoreBlocks(lifted);
        });
        break;
      }
      case 'unblock': {
        const domain = registered(request.domain);
        const lifted = this.guard.blocksOn(domain);
        const unblocked = new Map(this.guard.unblocked);
        if (!this.guard.unblock(domain, now)) throw new Error(`${domain} is not blocked`);
        result = { domain, blocks: lifted.length };
        audit('unblock', domain, {}, () => {
          this.guard.restoreBlocks(lifted);
          this.guard.unblocked = unblocked;
        });
        break;
      }
      case 'quarantine': {
        const quarantines = this.guard.quarantines;
        const q = this.guard.quarantine({ client: request.client, until: now + request.seconds, by: request.who, at: now });
        result = { client: q.client, until: q.until, incident: q.incident };
        audit('quarantine', q.client, result as object, () => (this.guard.quarantines = quarantines));
        break;
      }
      case 'release': {
        const quarantines = this.guard.quarantines;
        if (!this.guard.release(request.client)) throw new Error(`${request.client} is not quarantined`);
        result = { client: request.client };
        audit('release', request.client, {}, () => (this.guard.quarantines = quarantines));
        break;
      }
      case 'monitor': {
        // A temporary monitor-only period (a new network, a suspected false positive); the
        // configured mode comes back by itself when it expires, also after a restart.
        const previous = this.monitorUntil;
        this.setMonitor(request.seconds > 0 ? now + request.seconds : null);
        result = { mode: this.parts.guard.mode, until: this.monitorUntil };
        persist('monitor', 'tunnel-guard', result as object, () => this.setMonitor(previous));
        return result;
      }
      default:
        throw new Error(`unknown command ${(request as { cmd: string }).cmd}`);
    }
    return result;
  }

  private buildFeeds(config: Config): FeedManager {
    const feeds = new FeedManager(feedConfigs(config.policy.feeds));
    feeds.onChange = (f, ok) => {
      if (ok) this.log.info({ feed: f.config.name, category: f.config.category, version: f.version, format: f.format, rules: f.ruleCount, skipped: f.skipped, errors: f.errors }, 'policy feed loaded');
      else this.log.error({ feed: f.config.name, error: f.lastError, keeping: f.rules === null ? null : f.version }, f.rules === null ? 'policy feed not loaded' : 'policy feed update refused: keeping the last good version');
    };
    return feeds;
  }

  /** Loads feeds, waiting at most FEED_START_WAIT_MS: DNS must come up even when a feed server is slow. */
  private async startFeeds(feeds: FeedManager): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([feeds.start().then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), FEED_START_WAIT_MS)))]);
    clearTimeout(timer);
    if (waited) this.log.warn({ waitedMs: FEED_START_WAIT_MS }, 'policy feeds still loading: serving meanwhile');
  }

  private onPolicy(ctx: QueryContext, d: PolicyDecision): void {
    if (Date.now() - this.reportedPolicySince > 600_000 || this.reportedPolicy.size >= 10_000) {
      this.reportedPolicy.clear();
      this.reportedPolicySince = Date.now();
    }
    const key = `${d.group}|${d.feed}|${d.line}|${ctx.clientAddress}`;
    if (this.reportedPolicy.has(key)) return;
    this.reportedPolicy.add(key);
    const held = this.policyEventLimit.take(ctx.clientAddress, Date.now());
    if (held < 0) return;
    const qname = presentName(nameLabels(ctx.request, HEADER_LENGTH));
    const why = d.category === 'doh-canary'
      ? `${ctx.clientAddress} asked Firefox's DoH canary ${qname}: answered NXDOMAIN so the browser keeps using this resolver and cannot bypass the DNS firewall`
      : d.category === 'doh-resolvers'
        ? `${ctx.clientAddress} looked up the public DoH/DoT resolver ${qname}: blocked so it cannot bypass the DNS firewall`
        : `${qname} matched ${d.category} rule "${d.rule}" (feed ${d.feed} ${d.version}, line ${d.line}) for group ${d.group}`;
    this.events.publish(securityEvent({
      type: 'policy_blocked', severity: d.category === 'ads' ? 2 : d.category.startsWith('doh') ? 4 : 7,
      client: ctx.clientAddress, domain: qname, qname, action: d.action, enforced: d.enforced,
      reasons: held > 0 ? [why, `${held} more policy blocks for ${ctx.clientAddress} were held back (at most ${POLICY_EVENT_LIMITS.rate} events per second per client); the query log has each of them`] : [why], stages: [], policy: { group: d.group, feed: d.feed, category: d.category, version: d.version, rule: d.rule, line: d.line },
    }));
  }

  private monitorTimer: NodeJS.Timeout | null = null;
  /** Until when (seconds) an operator put Tunnel Guard in monitor mode; null when not. */
  monitorUntil: number | null = null;

  /** Monitor mode until a time (seconds), or the configured mode again (null). */
  private setMonitor(until: number | null): void {
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    this.monitorTimer = null;
    if (until === null) return this.endMonitor();
    this.monitorUntil = until;
    this.parts.guard.configure({ ...this.config.guard, mode: 'monitor' });
    this.monitorTimer = setTimeout(() => this.endMonitor(), Math.max(0, until * 1000 - Date.now()));
    this.monitorTimer.unref();
  }

  private endMonitor(): void {
    this.monitorUntil = null;
    this.monitorTimer = null;
    this.parts.guard.configure(this.config.guard);
  }

  get guardMode(): string {
    return this.parts.guard.mode;
  }

  /** The running configuration (secrets redacted), for the console's read-only view. */
  get runningConfig(): Config {
    return this.config;
  }

  private onVerdict(ctx: QueryContext, verdict: Verdict, enforced: boolean): void {
    const key = verdict.incident ?? `${verdict.action}:${verdict.domain}`;
    if (this.loggedIncidents.has(key)) return;
    if (this.loggedIncidents.size >= 10_000) this.loggedIncidents.clear();
    this.loggedIncidents.add(key);
    const qname = presentName(nameLabels(ctx.request, HEADER_LENGTH));
    // A new domain block is kept at once (in the background), so even kill -9 does not lose it.
    if (verdict.scope === 'domain' || verdict.scope === 'client-domain') this.saveGuard(false);
    if (verdict.scope !== 'client') {
      // A client-scoped block is a domain block for one client: its first reason says so.
      const type: SecurityEventType = !enforced || verdict.action === 'monitor' ? 'tunnel_detected' : verdict.scope === 'domain' || verdict.scope === 'client-domain' ? 'domain_blocked' : 'query_blocked';
      const samples = verdict.stages.find((s) => s.name === 'decision')?.evidence.samples;
      this.events.publish(securityEvent({
        type,
        severity: type === 'domain_blocked' ? 8 : type === 'query_blocked' ? 7 : 5,
        client: ctx.clientAddress,
        domain: verdict.domain,
        qname,
        action: verdict.action,
        enforced,
        incident: verdict.incident,
        leakedBytes: verdict.leakedBytes,
        samples: Array.isArray(samples) ? samples : undefined,
        reasons: verdict.reasons,
        stages: verdict.stages,
      }));
    }
    this.log.warn({
      guard: { action: verdict.action, scope: verdict.scope, enforced, mode: this.parts.guard.mode, incident: verdict.incident, score: verdict.score, leakedBytes: verdict.leakedBytes },
      client: ctx.clientAddress,
      qname,
      domain: verdict.domain,
      reasons: verdict.reasons,
      stages: verdict.stages,
    }, enforced ? 'Tunnel Guard blocked' : `Tunnel Guard ${verdict.action === 'block' ? 'would block (monitor mode)' : verdict.action}`);
  }

  /**
   * Stops accepting, lets queries in flight finish (up to the drain timeout), then closes.
   * UDP sockets stay open until the drain ends, so answers to queries in flight can leave.
   */
  async stop(): Promise<void> {
    this.health.stop();
    const udp = [...this.udpListeners.values()];
    for (const l of udp) l.stopAccepting();
    const tcpClosing = [...this.tcpListeners.values()].map((l) => l.close());
    this.udpListeners.clear();
    this.tcpListeners.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.shutdown.drainTimeout)));
    await Promise.race([Promise.all([this.pipeline.drained(), ...tcpClosing]), timeout]);
    clearTimeout(timer);
    await Promise.all(udp.map((l) => l.close()));
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    try {
      this.saveGuard(true);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'Tunnel Guard state not saved at shutdown');
    }
    await this.guardStore?.close();
    await this.relearner.stop();
    await this.feeds.stop();
    await this.events.close();
    await this.dnstap?.close();
    this.guardStore = null;
    for (const pool of this.router.pools) pool.close();
    for (const r of this.retiredRouters) for (const pool of r.pools) pool.close();
  }

  /** Every operator change (guard commands, console users and tokens) goes to one audit log. */
  auditChange(who: string, action: string, subject: string, detail: object): void {
    this.guardStore?.audit({ at: Date.now(), who, action, subject, detail: JSON.stringify(detail) });
  }

  /** The newest audit entries, oldest first (none without a store, e.g. before start). */
  auditLog(limit: number): AuditEntry[] {
    return this.guardStore?.auditLog(limit) ?? [];
  }

  /** Per-upstream answer latency, for the metrics histogram. */
  upstreamLatencies(): Array<{ labels: { pool: string; upstream: string }; histogram: Upstream['stats']['latency'] }> {
    return this.router.pools.flatMap((pool) => pool.upstreams.map((u) => ({ labels: { pool: pool.options.name, upstream: u.name }, histogram: u.stats.latency })));
  }

  /** A snapshot of counters for logs, `status` and metrics. */
  snapshot(): ServerSnapshot {
    const upstreams = this.router.pools.flatMap((pool) => pool.upstreams.map((u) => ({
      pool: pool.options.name,
      name: u.name,
      healthy: u.healthy,
      outstanding: u.outstanding,
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
    })));
    return {
      queries: { ...this.stats.byTransport },
      responseTypes: Object.fromEntries(this.stats.byResponseType),
      rcodes: this.stats.rcodes(),
      qtypes: this.stats.qtypes(),
      malformed: Object.fromEntries(this.parts.parse.malformed),
      cache: { hits: this.parts.cache.hits, misses: this.parts.cache.misses, entries: this.cache.size, bytes: this.cache.bytes, ...this.cache.stats, staleServed: this.parts.upstream.staleServed },
      upstreams,
      inFlight: this.pipeline.queriesInFlight,
      events: { published: this.events.published, dropped: this.events.dropped, queueDepth: this.events.depth, sinkErrors: this.events.sinkErrors, sinks: this.events.sinkStatus() },
      blocks: [...this.parts.policy.blockCounts(), ...this.parts.guard.blockCounts()],
      policy: {
        blocked: this.parts.policy.blocked, wouldBlock: this.parts.policy.wouldBlock, errors: this.parts.policy.errors, eventsHeld: this.policyEventLimit.held,
        feeds: [...this.feeds.feeds.values()].map((f) => ({ name: f.config.name, category: f.config.category, version: f.version, format: f.format ?? null, rules: f.ruleCount, loadedAt: f.loadedAt, lastCheck: f.lastCheck, lastError: f.lastError, skipped: f.skipped, errors: f.errors, failures: f.failures })),
      },
      dnstap: this.dnstap ? { ...this.dnstap.writer.stats } : null,
      queryLog: { mode: this.queryLog.mode, logged: this.queryLog.logged, dropped: this.queryLog.dropped, retained: this.queryLog.retained, writeErrors: this.queryLog.writeErrors },
      guard: {
        mode: this.parts.guard.mode,
        ...this.guard.counters,
        blocked: this.parts.guard.blocked,
        wouldBlock: this.parts.guard.wouldBlock,
        failOpen: this.parts.guard.failOpen,
        retraining: { jobs: this.relearner.jobs, skipped: this.relearner.skipped, errors: this.relearner.errors },
        domains: this.guard.domains.size,
        clients: this.guard.clients.size,
        pairs: this.guard.pairs.size,
        activeBlocks: this.guard.activeBlocks(Date.now() / 1000).length,
        snapshots: this.guardStore ? { saves: this.guardStore.saves, skipped: this.guardStore.skippedSaves, lastBytes: this.guardStore.lastSaveBytes, lastMs: this.guardStore.lastSaveMs } : null,
      },
      tcp: sumTcpStats([...this.tcpListeners.values()].map((l) => l.stats())),
      defence: this.parts.defence.counters(),
      stageErrors: this.stageErrors,
    };
  }

  private sweep(): void {
    const now = performance.now();
    for (const pool of this.router.pools) pool.sweep(now);
    for (const r of this.retiredRouters) for (const pool of r.pools) pool.sweep(now);
  }

  private buildRouter(config: Config): ZoneRouter {
    const onHealth = (u: Upstream) => this.log.warn({ upstream: u.name, healthy: u.healthy, consecutiveFailures: u.consecutiveFailures }, u.healthy ? 'upstream is up' : 'upstream is down');
    const up = config.upstreams;
    const probe = { wire: buildProbe(up.healthCheck.name, up.healthCheck.type), timeoutMs: up.healthCheck.timeout };
    const upstreamOptions = (servers: Config['upstreams']['servers']) => servers.map((s) => ({
      address: s.address, protocol: s.protocol, sockets: up.sockets, rotateSocketsAfter: up.rotateSocketsAfter, tcpIdleMs: up.tcpIdleTimeout, maxFailures: up.maxFailures,
      native: config.udp.io === 'dgram' ? null : loadNativeUdp(), maxInFlightPerSocket: up.maxInFlightPerSocket, probe,
    }));
    const defaultPool = new UpstreamPool({ name: 'default', policy: up.policy, upstreams: upstreamOptions(up.servers), timeoutMs: up.timeout, attempts: up.attempts }, onHealth);
    const zones = config.forwardZones.map((z) => ({
      zone: z.zone,
      pool: new UpstreamPool({ name: z.zone, policy: z.policy, upstreams: upstreamOptions(z.servers), timeoutMs: up.timeout, attempts: up.attempts }, onHealth),
    }));
    return new ZoneRouter(defaultPool, zones);
  }

  private buildHealthChecker(config: Config): HealthChecker {
    const hc = config.upstreams.healthCheck;
    const router = this.router;
    return new HealthChecker({ intervalMs: hc.interval, timeoutMs: hc.timeout, name: hc.name, qtype: hc.type, mustResolve: hc.mustResolve }, () => router.pools.flatMap((p) => p.upstreams));
  }

  /**
   * The batched native socket when the addon loaded (udp.io auto/native), else node:dgram.
   * `native` without the addon is an error, so an operator who asked for it notices.
   */
  private createUdpListener(address: HostPort, config: Config): AnyUdpListener {
    if (config.udp.io !== 'dgram') {
      const native = loadNativeUdp();
      if (native) return new UdpBatchListener(address, this.pipeline, native, config.udp.receiveBuffer, cluster.isWorker);
      if (config.udp.io === 'native') throw new Error(`udp.io is "native" but ${nativeUdpFailure()}`);
      if (!this.warnedNoNative) this.log.warn({ reason: nativeUdpFailure() }, 'batched UDP I/O unavailable: using node:dgram');
      this.warnedNoNative = true;
    }
    return new UdpListener(address, this.pipeline, config.udp.receiveBuffer);
  }

  private warnedNoNative = false;

  private async syncListeners(config: Config): Promise<void> {
    const wantedUdp = new Set<string>();
    const wantedTcp = new Set<string>();
    for (const l of config.listen) {
      const key = formatHostPort(l.address);
      if (l.protocols.includes('udp')) {
        wantedUdp.add(key);
        if (!this.udpListeners.has(key)) {
          const listener = this.createUdpListener(l.address, config);
          await listenOrExplain(listener, key, 'udp');
          this.udpListeners.set(key, listener);
          this.log.info({ address: key, transport: 'udp', io: listener instanceof UdpBatchListener ? 'native recvmmsg/sendmmsg' : 'node:dgram' }, 'listening');
        }
      }
      if (l.protocols.includes('tcp')) {
        wantedTcp.add(key);
        if (!this.tcpListeners.has(key)) {
          const listener = new TcpListener(l.address, this.pipeline, tcpOptions(config));
          await listenOrExplain(listener, key, 'tcp');
          this.tcpListeners.set(key, listener);
          this.log.info({ address: key, transport: 'tcp' }, 'listening');
        }
      }
    }
    for (const [key, l] of this.udpListeners) if (!wantedUdp.has(key)) { this.udpListeners.delete(key); void l.close(); }
    for (const [key, l] of this.tcpListeners) if (!wantedTcp.has(key)) { this.tcpListeners.delete(key); void l.close(); }
  }
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

function tcpOptions(config: Config): TcpListenerOptions {
  const t = config.tcp;
  return {
    idleTimeoutMs: t.idleTimeout, readTimeoutMs: t.readTimeout, writeTimeoutMs: t.writeTimeout, maxConnections: t.maxConnections,
    maxConnectionsPerClient: t.maxConnectionsPerClient, maxInFlightPerConnection: t.maxInFlightPerConnection, maxBufferedPerConnection: t.maxBufferedPerConnection,
    maxBufferedTotal: t.maxBufferedTotal,
  };
}
