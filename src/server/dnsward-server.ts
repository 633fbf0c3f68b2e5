/**
 * One dnsward node's runtime: Tunnel Guard and its store, the events, the query log, the policy
 * feeds and the operator commands, with the data plane either inline on this thread
 * (`threads: 0`) or on I/O threads (src/plane/io-thread-pool.ts) fed through the brain
 * (src/plane/brain.ts). The console and the metrics listener are not built here: DnswardNode
 * (dnsward-node.ts) wires them to this server through their narrow backends.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ControlRequest } from '../control/control-protocol.js';
import { isFeedCommand, runOperatorCommand } from '../control/operator-commands.js';
import type { OperatorHost } from '../control/operator-host.js';
import { nameLabels, presentName } from '../dns/name.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import { DnstapLogger } from '../dnstap/dnstap-logger.js';
import { EventBus, type EventSink } from '../events/event-bus.js';
import { EventRateLimiter, POLICY_EVENT_LIMITS } from '../events/event-rate-limiter.js';
import { securityEvent, type SecurityEventType } from '../events/security-event.js';
import { HttpSink } from '../events/sinks/http-sink.js';
import { JsonlFileSink } from '../events/sinks/jsonl-file-sink.js';
import { SyslogSink } from '../events/sinks/syslog-sink.js';
import { BackgroundRelearner } from '../guard/background-relearner.js';
import {
  applyOperatorState,
  type OperatorState,
  operatorState,
  restoreGuardParts,
  snapshotGuardParts,
  snapshotGuardPartsNow,
} from '../guard/guard-snapshot.js';
import { SeenNames } from '../guard/seen-names.js';
import { TunnelGuard } from '../guard/tunnel-guard.js';
import type { Verdict } from '../guard/verdict.js';
import type { ReloadStatus, ServerSnapshot } from '../ops/server-snapshot.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { GuardStage } from '../pipeline/stages/guard-stage.js';
import { BlockTable } from '../plane/block-table.js';
import { Brain } from '../plane/brain.js';
import { Doorbell } from '../plane/doorbell.js';
import { IoThreadPool } from '../plane/io-thread-pool.js';
import { FeedManager, feedConfigs } from '../policy/feed-manager.js';
import { LocalLists, withLocalLists } from '../policy/local-lists.js';
import type { PolicyDecision } from '../policy/policy-engine.js';
import { feedsMessage } from '../policy/shared-feeds.js';
import { QueryLog } from '../querylog/query-log.js';
import { type AuditEntry, GuardStore } from '../store/guard-store.js';
import type { LatencyHistogram } from '../util/histogram.js';
import { ensurePrivateDir } from '../util/private-files.js';
import { type BoundAddresses, DataPlane } from './data-plane.js';
import { fillCookieSecret } from '../defence/cookie-secret.js';
import { Cluster, type ClusterChanges } from '../cluster/cluster.js';
import { ZoneWatcher } from '../zones/zone-watcher.js';
import type { LoadedZone } from '../zones/zone-set.js';
import type { Decision } from '../cluster/decision.js';
import type { FleetEvents } from '../cluster/fleet-events.js';
import { type DynamicBlock, DynamicBlocks } from '../defence/dynamic-blocks.js';
import { type FloodChange, FloodDetector } from '../flood/flood-detector.js';
import type { FloodFlag } from '../flood/flood-flags.js';

const FEED_START_WAIT_MS = 10_000;
/** The dynamic block rules are weighed once a second (as dnsdist's DynBlockRulesGroup is). */
const DYNAMIC_TICK_MS = 1000;
/** The flood detector closes a second this often. */
const FLOOD_TICK_MS = 1000;

/** I/O threads for `threads: auto`: one core is left to the brain and the control plane. */
export function ioThreadCount(threads: Config['threads']): number {
  return threads === 'auto' ? Math.max(1, availableParallelism() - 1) : threads;
}

export class DnswardServer implements OperatorHost {
  /** The data plane, when it runs on this thread (`threads: 0`); else the I/O threads. */
  private readonly inline: DataPlane | null = null;
  private readonly inlineGuard: GuardStage | null = null;
  private readonly pool: IoThreadPool | null = null;
  readonly brain: Brain | null = null;
  readonly guard: TunnelGuard;
  private readonly relearner: BackgroundRelearner;
  guardStore: GuardStore | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  readonly events: EventBus;
  readonly queryLog: QueryLog;
  /** Response-policy feeds (replaced whole when a reload changes policy.feeds). */
  feeds: FeedManager;
  /** Policy events already published (group, feed, rule, client), so a repeated block does not flood the SIEM. */
  private readonly reportedPolicy = new Set<string>();
  private readonly policyEventLimit = new EventRateLimiter();
  private reportedPolicySince = Date.now();
  /** A background snapshot is being built (one at a time). */
  private building = false;
  /** Incidents already logged, so a blocked domain's every query does not log again (bounded). */
  private readonly loggedIncidents = new Set<string>();
  private readonly snapshotName = 'guard';
  /** The guard's mode now: the configured one, or monitor while an operator said so. */
  private mode: Config['guard']['mode'];
  /** Detector failures on this thread (the inline stage, or the brain). */
  private detectorErrors = 0;
  /** Decisions shared with other nodes through Redis (`cluster:`); null: this node alone. */
  cluster: Cluster | null = null;
  /** Dynamic blocks' analysis: fed by the data planes' traffic counts, weighed every DYNAMIC_TICK_MS. */
  readonly dynamicBlocks: DynamicBlocks;
  private dynamicTimer: NodeJS.Timeout | null = null;
  private dynamicErrors = 0;
  /** Reloads local zones when their files change (replaced with the zones at every reload). */
  private zoneWatcher: ZoneWatcher | null = null;
  /** Zone reloads by `zone|result`, for metrics. */
  private readonly zoneReloads = new Map<string, number>();
  /** The random-subdomain flood detector (defence.randomSubdomain), fed by the brain or the inline guard stage. */
  readonly flood: FloodDetector;
  private floodTimer: NodeJS.Timeout | null = null;
  /** The console's local allow and deny lists (null before start). */
  localLists: LocalLists | null = null;

  constructor(
    private config: Config,
    private readonly log: Logger,
  ) {
    // The console's local allow and deny lists are feeds of their own, first in every group.
    config = withLocalLists(config);
    this.config = config;
    fillCookieSecret(config);
    const g = config.guard;
    this.mode = g.mode;
    const sinks: EventSink[] = [];
    if (config.events.file !== null)
      sinks.push(
        new JsonlFileSink(
          config.events.file.path,
          config.events.file.maxSize,
          config.events.file.keep,
          config.events.file.maxAge,
          Date.now,
          config.events.file.format,
        ),
      );
    for (const s of config.events.syslog) sinks.push(new SyslogSink(s));
    for (const h of config.events.http) sinks.push(new HttpSink({ ...h, timeoutMs: h.timeout }));
    const ql = config.queryLog;
    this.queryLog = new QueryLog(
      {
        path: join(config.dataDir, 'querylog.db'),
        mode: ql.mode,
        statistics: ql.statistics,
        maxAgeMs: ql.maxAge,
        maxBytes: ql.maxSize,
      },
      (err) => this.log.error({ err }, 'query log failed'),
    );
    // Every security event is kept in the query log's store, whatever other sinks are configured.
    sinks.push(this.queryLog);
    // In a cluster, this node's events also go to the fleet's stream (the cluster of the moment: reloads replace it).
    sinks.push({ name: 'fleet', write: (events) => this.cluster?.fleet.write(events) });
    this.events = new EventBus(
      sinks,
      config.events.queueSize,
      (sink, err) => this.log.error({ sink, err }, 'event sink failed'),
      config.cluster?.nodeName,
    );
    this.relearner = new BackgroundRelearner((err) =>
      this.log.error({ err }, 'Tunnel Guard retraining failed: keeping the previous model'),
    );
    const threads = ioThreadCount(config.threads);
    // With I/O threads, the seen filters are shared: the threads settle plain repeats themselves.
    const sharedSeen = threads === 0 ? undefined : { names: SeenNames.sharedBuffer(), users: SeenNames.sharedBuffer() };
    this.guard = new TunnelGuard({
      sensitivity: g.sensitivity,
      maxDomains: g.maxDomains,
      maxClients: g.maxClients,
      maxPairs: g.maxPairs,
      relearner: this.relearner,
      sharedSeen,
    });
    this.feeds = this.buildFeeds(config);
    if (config.cluster !== null) this.cluster = this.buildCluster(config.cluster);
    this.dynamicBlocks = new DynamicBlocks(config.defence.dynamicBlocks, (b) => this.onDynamicBlock(b));
    const rs = config.defence.randomSubdomain;
    this.flood = new FloodDetector({ floor: rs.floor, maxDomains: rs.maxDomains });
    this.guard.isFlooded = (domain) => this.flood.isFlooded(domain);
    // Flagged mid-second (inline: from the query path; threaded: from the brain): limited at once.
    this.flood.onOnset = (change) => this.onFloodChanges([change]);
    const onDetectorError = (err: unknown) => {
      this.detectorErrors++;
      this.log.error({ err }, 'Tunnel Guard failed: query let through (fail open)');
      this.events.publish(
        securityEvent({
          type: 'detector_fail_open',
          severity: 5,
          reasons: [String((err as Error)?.message ?? err)],
          stages: [],
        }),
      );
    };
    if (threads === 0) {
      this.inlineGuard = new GuardStage(
        this.guard,
        g,
        (ctx, verdict, enforced) =>
          this.onVerdict(ctx.clientAddress, presentName(nameLabels(ctx.request, HEADER_LENGTH)), verdict, enforced),
        onDetectorError,
      );
      this.inlineGuard.flood = rs.enabled ? this.flood : null;
      this.inline = new DataPlane(config, log, {
        guard: this.inlineGuard,
        feeds: this.feeds,
        queryLog: this.queryLog,
        onPolicy: (ctx, d) => this.onPolicy(ctx.clientAddress, presentName(nameLabels(ctx.request, HEADER_LENGTH)), d),
      });
    } else {
      const table = new BlockTable(BlockTable.allocate());
      const doorbell = new Doorbell(Doorbell.allocate());
      this.brain = new Brain(
        this.guard,
        table,
        doorbell,
        () => this.mode,
        (client, qname, verdict, enforced) => this.onVerdict(client, qname, verdict, enforced),
        onDetectorError,
      );
      this.brain.flood = rs.enabled ? this.flood : null;
      this.pool = new IoThreadPool(config, threads, log, {
        table,
        doorbell,
        brain: this.brain,
        queryLog: this.queryLog,
        feeds: () => feedsMessage(this.feeds),
        seen: sharedSeen!,
        floods: () => this.floodFlags(),
        onPolicy: (client, qname, d) => this.onPolicy(client, qname, d),
        onTraffic: (deltas) => this.failOpenDynamic(() => this.dynamicBlocks.add(deltas, Date.now())),
        dynamicBlocks: () => this.dynamicBlocks.entries(),
      });
    }
  }

  /** The inline pipeline (`threads: 0` only: with I/O threads each has its own). */
  get pipeline(): Pipeline {
    if (this.inline === null) throw new Error('the pipeline runs on the I/O threads');
    return this.inline.pipeline;
  }

  /** dnstap's logger (`threads: 0` only: with I/O threads each has its own). */
  get dnstap(): DnstapLogger | null {
    return this.inline?.dnstap ?? null;
  }

  /** Queries in flight, on every thread. */
  get inFlight(): number {
    return this.inline?.pipeline.queriesInFlight ?? this.pool!.snapshot().inFlight;
  }

  /** Client-facing latency, summed over the threads. */
  get stats(): { readonly latency: LatencyHistogram } {
    return this.inline?.stats ?? this.pool!;
  }

  /** Time Tunnel Guard spent weighing new names (inline, or in the brain). */
  get guardDetectorTime(): LatencyHistogram {
    return this.inlineGuard?.detectorTime ?? this.brain!.detectorTime;
  }

  /** The fleet's events in Redis, for the console (null: no cluster). */
  get fleet(): FleetEvents | null {
    return this.cluster?.fleet ?? null;
  }

  /** Time from another node sending a decision to its taking effect here (null: no cluster). */
  get clusterLag(): LatencyHistogram | null {
    return this.cluster?.sync.counters.lag ?? null;
  }

  /** I/O threads running (0: the data plane runs on this thread). */
  get threads(): number {
    return this.pool?.size ?? 0;
  }

  async start(): Promise<void> {
    this.floodTimer = setInterval(() => this.tickFloods(Date.now() / 1000), FLOOD_TICK_MS);
    this.floodTimer.unref();
    this.openGuardStore();
    this.openLocalLists();
    await this.startFeeds(this.feeds);
    if (this.inline !== null) await this.inline.start();
    else {
      this.brain!.start();
      try {
        await this.pool!.start();
      } catch (err) {
        await this.brain!.stop();
        throw err;
      }
      if (this.config.guard.brainPriority === 'low') this.brain!.yieldCpu();
    }
    this.dynamicTimer = setInterval(() => this.weighDynamicBlocks(), DYNAMIC_TICK_MS);
    this.dynamicTimer.unref();
    this.watchZones(this.config.zones);
    // After the local state is restored and DNS answers: Redis joins in the background.
    this.cluster?.start();
  }

  private buildCluster(config: NonNullable<Config['cluster']>): Cluster {
    return new Cluster(
      config,
      {
        guard: this.guard,
        dynamicBlocks: () => this.dynamicBlocks,
        applied: (changes) => this.onClusterApplied(changes),
      },
      this.log,
    );
  }

  /**
   * Decisions from other nodes took effect in the guard: the I/O threads see them at once, they
   * are kept like local ones, and each one that came as news is an event naming its node.
   */
  private onClusterApplied(changes: ClusterChanges): void {
    this.brain?.publish();
    if (changes.rates) this.publishDynamicBlocks();
    if (changes.blocks) this.saveGuard(false);
    if (changes.operator) {
      try {
        this.saveOperator();
      } catch (err) {
        this.log.error(
          { err: (err as Error).message },
          'cluster: operator decisions from other nodes not saved (they hold until restart)',
        );
      }
    }
    for (const d of changes.reported) {
      if (d.kind === 'rate-block' || d.kind === 'rate-unblock') {
        this.reportRateDecision(d);
        continue;
      }
      const subject = d.kind === 'block' || d.kind === 'unblock' ? d.domain! : (d.domain ?? d.client!);
      if (d.kind !== 'block')
        this.auditChange(`${d.by ?? 'operator'} on ${d.origin}`, d.kind, subject, {
          until: d.until,
          client: d.client,
          domain: d.domain,
          origin: d.origin,
        });
      const isClient = d.kind === 'quarantine' || d.kind === 'release';
      const type: SecurityEventType =
        d.kind === 'block'
          ? 'domain_blocked'
          : d.kind === 'allow'
            ? 'allow_override'
            : d.kind === 'unblock'
              ? 'domain_unblocked'
              : d.kind === 'quarantine'
                ? 'client_quarantined'
                : 'client_released';
      this.events.publish(
        securityEvent({
          type,
          node: d.origin,
          severity: d.kind === 'block' ? 8 : 3,
          ...(d.kind === 'block'
            ? {
                client: d.client,
                domain: d.domain,
                action: 'block',
                enforced: this.mode === 'block',
                incident: d.incident,
                leakedBytes: d.leaked,
              }
            : isClient
              ? { client: d.client, operator: d.by }
              : { domain: d.domain, client: d.client, operator: d.by }),
          reasons: [
            d.reason ?? `${d.kind} ${subject} by ${d.by ?? 'Tunnel Guard'}`,
            `decided by node ${d.origin}, applied on ${this.cluster?.node ?? 'this node'}`,
          ],
          stages: [],
        }),
      );
    }
  }

  /** A dynamic block started or lifted on another node, as the events of a local one name it. */
  private reportRateDecision(d: Decision): void {
    const address = d.prefix!.split('/')[0];
    const from = `decided by node ${d.origin}, applied on ${this.cluster?.node ?? 'this node'}`;
    if (d.kind === 'rate-unblock') {
      this.auditChange(`${d.by ?? 'operator'} on ${d.origin}`, 'unblock-client', d.prefix!, { origin: d.origin });
      this.events.publish(
        securityEvent({
          type: 'client_rate_unblocked',
          node: d.origin,
          severity: 3,
          operator: d.by,
          client: address,
          reasons: [`dynamic block of ${d.prefix} lifted by ${d.by ?? 'an operator'}`, from],
          stages: [],
        }),
      );
      return;
    }
    this.events.publish(
      securityEvent({
        type: 'client_rate_blocked',
        node: d.origin,
        severity: 6,
        client: address,
        action: d.action,
        enforced: true,
        reasons: [d.reason ?? `client ${d.prefix} passed dynamic block rule "${d.rule}"`, from],
        stages: [],
      }),
    );
  }

  /** Once a second: the inline plane's counts (I/O threads send theirs), the rules, and any change of the blocks to the data planes. */
  weighDynamicBlocks(now = Date.now()): void {
    this.failOpenDynamic(() => {
      if (this.inline !== null) {
        const deltas = this.inline.parts.defence.takeTraffic();
        if (deltas !== null) this.dynamicBlocks.add(deltas, now);
      }
      if (this.dynamicBlocks.tick(now)) this.publishDynamicBlocks();
    });
  }

  /** A failure of the dynamic block rules is logged and counted, never a crash: DNS goes on (blocks already sent stay until they end). */
  private failOpenDynamic(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.dynamicErrors++;
      this.log.error({ err }, 'dynamic block rules failed: no new blocks from this round (fail open)');
    }
  }

  /** Sends the dynamic blocks in force to the data planes. */
  publishDynamicBlocks(): void {
    const entries = this.dynamicBlocks.entries();
    this.inline?.parts.defence.setDynamicBlocks(entries);
    this.pool?.setDynamicBlocks(entries);
  }

  private onDynamicBlock(b: DynamicBlock): void {
    if (this.cluster !== null) this.cluster.share(this.cluster.rates.block(b));
    const address = b.prefix.split('/')[0];
    this.log.warn(
      {
        dynamicBlock: {
          prefix: b.prefix,
          rule: b.rule,
          metric: b.metric,
          observed: b.observed,
          threshold: b.threshold,
          windowSeconds: b.windowSeconds,
          action: b.action,
          until: new Date(b.until).toISOString(),
        },
      },
      b.reason,
    );
    this.events.publish(
      securityEvent({
        type: 'client_rate_blocked',
        severity: 6,
        client: address,
        action: b.action,
        enforced: true,
        reasons: [b.reason],
        stages: [
          {
            name: 'defence',
            score: 1,
            evidence: {
              rule: b.rule,
              metric: b.metric,
              prefix: b.prefix,
              observedPerSecond: Math.round(b.observed * 10) / 10,
              limitPerSecond: b.threshold,
              windowSeconds: b.windowSeconds,
              action: b.action,
              until: new Date(b.until).toISOString(),
            },
          },
        ],
      }),
    );
  }

  /** Addresses actually bound, e.g. after listening on port 0 in tests. */
  boundAddresses(): BoundAddresses {
    return this.inline?.boundAddresses() ?? this.pool!.boundAddresses();
  }

  /**
   * Applies a new configuration without dropping queries: listeners stay open (new ones are
   * added, removed ones closed), queries in flight finish on the pools they started on, and
   * the cache keeps its content unless its bounds changed.
   */
  async reload(given: Config): Promise<void> {
    const next = withLocalLists(given);
    fillCookieSecret(next);
    const feedsChanged = JSON.stringify(next.policy.feeds) !== JSON.stringify(this.config.policy.feeds);
    const old = this.feeds;
    if (feedsChanged) {
      // New feeds load before they replace the old ones: queries never see an empty policy.
      this.feeds = this.buildFeeds(next);
      await this.startFeeds(this.feeds);
    } else {
      // An operator who edits a list file and reloads expects it applied: unchanged files cost a stat.
      await this.refreshFeeds().catch((err) => this.log.error({ err }, 'feed refresh at reload failed'));
    }
    const guardSettings = this.monitorUntil === null ? next.guard : { ...next.guard, mode: 'monitor' as const };
    this.mode = guardSettings.mode;
    if (this.inline !== null) {
      this.inlineGuard!.configure(guardSettings);
      await this.inline.reload(next, feedsChanged ? this.feeds : null);
    } else {
      await this.pool!.reload(next, feedsChanged ? feedsMessage(this.feeds) : null, guardSettings.mode);
    }
    if (feedsChanged) await old.stop();
    this.queryLog.mode = next.queryLog.mode;
    this.queryLog.statistics = next.queryLog.statistics;
    const rs = next.defence.randomSubdomain;
    this.flood.floor = rs.floor;
    this.flood.maxDomains = rs.maxDomains;
    if (this.inlineGuard !== null) this.inlineGuard.flood = rs.enabled ? this.flood : null;
    if (this.brain !== null) this.brain.flood = rs.enabled ? this.flood : null;
    this.guard.setSensitivity(next.guard.sensitivity);
    if (next.cluster === null) {
      await this.cluster?.stop();
      this.cluster = null;
    } else if (this.cluster === null || this.cluster.node !== next.cluster.nodeName) {
      // A new name is a new node to the others: its decisions carry the new name from now on.
      await this.cluster?.stop();
      this.cluster = this.buildCluster(next.cluster);
      this.cluster.start();
    } else await this.cluster.reload(next.cluster);
    this.events.node = next.cluster?.nodeName;
    const activeBefore = this.dynamicBlocks.counters().active;
    this.dynamicBlocks.configure(next.defence.dynamicBlocks);
    if (this.dynamicBlocks.counters().active !== activeBefore) this.publishDynamicBlocks();
    if (next.guard.snapshotInterval !== this.config.guard.snapshotInterval)
      this.startSnapshots(next.guard.snapshotInterval);
    // Zones the reload read differently count as reloaded; the watcher follows the new list of files.
    next.zones.forEach((z, i) => {
      const before = this.config.zones[i];
      if (
        before !== undefined &&
        before.name === z.name &&
        JSON.stringify(before.records) !== JSON.stringify(z.records)
      )
        this.countZoneReload(z.name, 'ok');
    });
    this.config = next;
    this.watchZones(next.zones);
  }

  /** Watches the zones' files; a change is served at once, a bad file refused (logged, counted) and the running zone kept. */
  private watchZones(zones: LoadedZone[]): void {
    this.zoneWatcher?.stop();
    this.zoneWatcher = new ZoneWatcher(zones, {
      reloaded: (next, changed) => {
        this.config = { ...this.config, zones: next };
        if (this.inline !== null) this.inline.setZones(next);
        else this.pool!.setZones(next);
        for (const name of changed) this.countZoneReload(name, 'ok');
        this.log.info({ zones: changed }, 'zone file changed: zone reloaded');
      },
      refused: (zone, err) => {
        this.countZoneReload(zone, 'refused');
        const e = err as Partial<{ file: string; line: number; reason: string }>;
        this.log.error(
          { zone, file: e.file, line: e.line, reason: e.reason ?? err.message },
          `zone file refused, the running zone stays: ${err.message}`,
        );
      },
    });
    this.zoneWatcher.start();
  }

  /** Counts a zone read again; a reload refused for a bad zone counts it too (serve's reload). */
  countZoneReload(zone: string, result: 'ok' | 'refused'): void {
    const key = `${zone}|${result}`;
    // Bounded by the configured zones times two results.
    this.zoneReloads.set(key, (this.zoneReloads.get(key) ?? 0) + 1);
  }

  /**
   * Closes the flood detector's second: floods that began or ended become events and logs, and
   * the data planes get the new flags. Public for tests, which drive time themselves.
   */
  tickFloods(now: number): FloodChange[] {
    const changes = this.flood.tick(now);
    this.onFloodChanges(changes);
    return changes;
  }

  /** Floods that began or ended: events and logs, and the data planes get the new flags. */
  private onFloodChanges(changes: FloodChange[]): void {
    if (changes.length === 0) return;
    const mode = this.config.defence.randomSubdomain.mode;
    for (const c of changes) {
      const f = c.flood;
      const detected = c.kind === 'detected';
      const evidence = {
        domain: f.domain,
        newNamesPerSecond: detected ? f.onsetNewNames : f.lastNewNames,
        failuresPerSecond: detected ? f.onsetFailures : f.lastFailures,
        normalNewNames: Math.round(f.normalNewNames * 100) / 100,
        normalFailures: Math.round(f.normalFailures * 100) / 100,
        clients: f.onsetClients,
        allowedRate: f.allowedRate,
        newNamesDuring: f.newNames,
        peakNewNames: f.peakNewNames,
        mode,
      };
      this.events.publish(
        securityEvent({
          type: detected ? 'flood_detected' : 'flood_ended',
          severity: detected ? 6 : 3,
          domain: f.domain,
          action: detected ? (mode === 'limit' ? 'limit' : 'monitor') : 'end',
          enforced: mode === 'limit',
          reasons: c.reasons,
          stages: [{ name: 'flood', score: detected ? 1 : 0, evidence }],
        }),
      );
      this.log.warn(
        { flood: evidence, reasons: c.reasons },
        detected ? 'random-subdomain flood detected' : 'random-subdomain flood ended',
      );
    }
    const flags = this.floodFlags();
    this.inline?.parts.flood.flags.set(flags, 1);
    this.pool?.setFloods(flags);
  }

  private floodFlags(): FloodFlag[] {
    return this.flood.active().map((f) => ({ domain: f.domain, rate: f.allowedRate, since: f.since }));
  }

  /** Restores what Tunnel Guard learned before (a restart, even after kill -9, resumes from the last snapshot). */
  /** The local lists' files from the state file, before the feeds read them. */
  private openLocalLists(): void {
    if (this.guardStore === null) return;
    this.localLists = new LocalLists(this.guardStore.lists, this.config.dataDir, (feed) => this.refreshFeeds(feed));
    try {
      this.localLists.writeFiles();
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        'local allow/deny lists not written: their feeds keep the last files',
      );
    }
  }

  private openGuardStore(): void {
    ensurePrivateDir(this.config.dataDir);
    this.guardStore = new GuardStore(join(this.config.dataDir, 'dnsward.db'), (err) =>
      this.log.error({ err }, 'guard store error'),
    );
    try {
      const saved = this.guardStore.load(this.snapshotName);
      if (saved !== undefined) {
        restoreGuardParts(this.guard, saved.parts);
        this.log.info(
          {
            savedAt: new Date(saved.savedAt).toISOString(),
            bytes: saved.bytes,
            domains: this.guard.domains.size,
            blocks: this.guard.activeBlocks(Date.now() / 1000).length,
          },
          'Tunnel Guard state restored',
        );
      }
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        'Tunnel Guard state could not be restored: starting from the prior',
      );
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
   * thread (shutdown only: operator changes are saved in their own small row, see saveOperator()).
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

  /** Operator commands (src/control/operator-commands.ts), then the I/O threads see their effect through the block table. */
  control(request: ControlRequest): unknown {
    if (isFeedCommand(request)) return runOperatorCommand(this, request);
    try {
      return runOperatorCommand(this, request);
    } finally {
      this.brain?.publish();
    }
  }

  /**
   * Saves the operator's decisions as they are now (not a snapshot of everything learned: that
   * took seconds on the event loop with a big guard), with a change's audit entry, in one
   * transaction. Throws when the write fails; the command that made the change undoes it.
   */
  saveOperator(entry?: AuditEntry): void {
    this.guardStore?.saveOperator(this.snapshotName, operatorState(this.guard, this.monitorUntil), entry);
  }

  private buildFeeds(config: Config): FeedManager {
    const feeds = new FeedManager(feedConfigs(config.policy.feeds));
    feeds.onChange = (f, ok) => {
      if (ok)
        this.log.info(
          {
            feed: f.config.name,
            category: f.config.category,
            version: f.version,
            format: f.format,
            rules: f.ruleCount,
            skipped: f.skipped,
            errors: f.errors,
          },
          'policy feed loaded',
        );
      else
        this.log.error(
          { feed: f.config.name, error: f.lastError, keeping: f.rules === null ? null : f.version },
          f.rules === null ? 'policy feed not loaded' : 'policy feed update refused: keeping the last good version',
        );
      // A refresh of the feeds in force reaches the I/O threads at once (a reload brings its own).
      if (ok && this.feeds === feeds) this.pool?.updateFeeds(feedsMessage(feeds));
    };
    return feeds;
  }

  /** Loads feeds, waiting at most FEED_START_WAIT_MS: DNS must come up even when a feed server is slow. */
  private async startFeeds(feeds: FeedManager): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      feeds.start().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), FEED_START_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (waited) this.log.warn({ waitedMs: FEED_START_WAIT_MS }, 'policy feeds still loading: serving meanwhile');
  }

  private onPolicy(client: string, qname: string, d: PolicyDecision): void {
    if (Date.now() - this.reportedPolicySince > 600_000 || this.reportedPolicy.size >= 10_000) {
      this.reportedPolicy.clear();
      this.reportedPolicySince = Date.now();
    }
    const key = `${d.group}|${d.feed}|${d.line}|${client}`;
    if (this.reportedPolicy.has(key)) return;
    this.reportedPolicy.add(key);
    const held = this.policyEventLimit.take(client, Date.now());
    if (held < 0) return;
    const why =
      d.category === 'doh-canary'
        ? `${client} asked Firefox's DoH canary ${qname}: answered NXDOMAIN so the browser keeps using this resolver and cannot bypass the DNS firewall`
        : d.category === 'doh-resolvers'
          ? `${client} looked up the public DoH/DoT resolver ${qname}: blocked so it cannot bypass the DNS firewall`
          : `${qname} matched ${d.category} rule "${d.rule}" (feed ${d.feed} ${d.version}, line ${d.line}) for group ${d.group}`;
    this.events.publish(
      securityEvent({
        type: 'policy_blocked',
        severity: d.category === 'ads' ? 2 : d.category.startsWith('doh') ? 4 : 7,
        client,
        domain: qname,
        qname,
        action: d.action,
        enforced: d.enforced,
        reasons:
          held > 0
            ? [
                why,
                `${held} more policy blocks for ${client} were held back (at most ${POLICY_EVENT_LIMITS.rate} events per second per client); the query log has each of them`,
              ]
            : [why],
        stages: [],
        policy: { group: d.group, feed: d.feed, category: d.category, version: d.version, rule: d.rule, line: d.line },
      }),
    );
  }

  private monitorTimer: NodeJS.Timeout | null = null;
  /** Until when (seconds) an operator put Tunnel Guard in monitor mode; null when not. */
  monitorUntil: number | null = null;

  /** Monitor mode until a time (seconds), or the configured mode again (null). */
  setMonitor(until: number | null): void {
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    this.monitorTimer = null;
    if (until === null) return this.endMonitor();
    this.monitorUntil = until;
    this.applyMode('monitor');
    this.monitorTimer = setTimeout(() => this.endMonitor(), Math.max(0, until * 1000 - Date.now()));
    this.monitorTimer.unref();
  }

  private endMonitor(): void {
    this.monitorUntil = null;
    this.monitorTimer = null;
    this.applyMode(this.config.guard.mode);
  }

  private applyMode(mode: Config['guard']['mode']): void {
    this.mode = mode;
    this.inlineGuard?.configure({ ...this.config.guard, mode });
    this.pool?.setGuardMode(mode);
  }

  get guardMode(): string {
    return this.mode;
  }

  /** The running configuration (secrets redacted), for the console's read-only view. */
  get runningConfig(): Config {
    return this.config;
  }

  private onVerdict(client: string, qname: string, verdict: Verdict, enforced: boolean): void {
    const key = verdict.incident ?? `${verdict.action}:${verdict.domain}`;
    if (this.loggedIncidents.has(key)) return;
    if (this.loggedIncidents.size >= 10_000) this.loggedIncidents.clear();
    this.loggedIncidents.add(key);
    // A new domain block is kept at once (in the background), so even kill -9 does not lose it.
    if (verdict.scope === 'domain' || verdict.scope === 'client-domain') this.saveGuard(false);
    if (verdict.scope !== 'client') {
      // A client-scoped block is a domain block for one client: its first reason says so.
      const type: SecurityEventType =
        !enforced || verdict.action === 'monitor'
          ? 'tunnel_detected'
          : verdict.scope === 'domain' || verdict.scope === 'client-domain'
            ? 'domain_blocked'
            : 'query_blocked';
      const samples = verdict.stages.find((s) => s.name === 'decision')?.evidence.samples;
      this.events.publish(
        securityEvent({
          type,
          severity: type === 'domain_blocked' ? 8 : type === 'query_blocked' ? 7 : 5,
          client,
          domain: verdict.domain,
          qname,
          action: verdict.action,
          enforced,
          incident: verdict.incident,
          leakedBytes: verdict.leakedBytes,
          samples: Array.isArray(samples) ? samples : undefined,
          reasons: verdict.reasons,
          stages: verdict.stages,
        }),
      );
    }
    this.log.warn(
      {
        guard: {
          action: verdict.action,
          scope: verdict.scope,
          enforced,
          mode: this.guardMode,
          incident: verdict.incident,
          score: verdict.score,
          leakedBytes: verdict.leakedBytes,
        },
        client,
        qname,
        domain: verdict.domain,
        reasons: verdict.reasons,
        stages: verdict.stages,
      },
      enforced
        ? 'Tunnel Guard blocked'
        : `Tunnel Guard ${verdict.action === 'block' ? 'would block (monitor mode)' : verdict.action}`,
    );
  }

  /**
   * Stops accepting, lets queries in flight finish (up to the drain timeout), then closes.
   * UDP sockets stay open until the drain ends, so answers to queries in flight can leave.
   */
  async stop(): Promise<void> {
    this.zoneWatcher?.stop();
    this.zoneWatcher = null;
    if (this.inline !== null) await this.inline.stop();
    else await this.pool!.stop();
    await this.brain?.stop();
    await this.cluster?.stop();
    if (this.dynamicTimer) clearInterval(this.dynamicTimer);
    if (this.floodTimer) clearInterval(this.floodTimer);
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
    this.guardStore = null;
  }

  /** Every operator change (guard commands, console users and tokens) goes to one audit log. */
  auditChange(who: string, action: string, subject: string, detail: object, comment?: string): void {
    this.guardStore?.audit({
      at: Date.now(),
      who,
      action,
      subject,
      detail: JSON.stringify(detail),
      ...(comment === undefined ? {} : { comment }),
    });
  }

  /** The newest audit entries, oldest first (none without a store, e.g. before start). */
  auditLog(limit: number): AuditEntry[] {
    return this.guardStore?.auditLog(limit) ?? [];
  }

  /** The newest audit entries about these subjects (the incident page's operator actions), oldest first. */
  auditFor(subjects: readonly string[], limit: number): AuditEntry[] {
    return this.guardStore?.auditFor(subjects, limit) ?? [];
  }

  /** Per-upstream answer latency, for the metrics histogram (summed over the I/O threads). */
  upstreamLatencies(): Array<{ labels: { pool: string; upstream: string }; histogram: LatencyHistogram }> {
    return this.inline?.upstreamLatencies() ?? this.pool!.upstreamLatencies();
  }

  /** Asks every I/O thread for its counters now (snapshot() otherwise sums their half-second reports). */
  async refresh(): Promise<void> {
    await this.pool?.refresh();
  }

  /** Each feed's state, as `dnsward feeds`, the console and metrics show it. */
  feedStatus() {
    const groups = this.config.policy.groups;
    return [...this.feeds.feeds.values()].map((f) => ({
      name: f.config.name,
      category: f.config.category,
      source: f.config.path ?? f.config.url ?? '',
      groups: groups
        .filter((g) => g.feeds.includes(f.config.name) || g.categories.includes(f.config.category))
        .map((g) => g.name),
      version: f.version,
      format: f.format ?? null,
      rules: f.ruleCount,
      loadedAt: f.loadedAt,
      lastCheck: f.lastCheck,
      lastError: f.lastError,
      skipped: f.skipped,
      errors: f.errors,
      failures: f.failures,
    }));
  }

  /** Re-reads feeds now (all, or one by name); resolves with the names whose new version is in force. */
  async refreshFeeds(name?: string): Promise<string[]> {
    const feeds = this.feeds;
    const names = name === undefined ? [...feeds.feeds.keys()] : [name];
    if (name !== undefined && !feeds.feeds.has(name))
      throw new Error(`no feed named "${name}" (feeds: ${[...feeds.feeds.keys()].join(', ') || 'none'})`);
    const changed = await Promise.all(names.map((n) => feeds.refresh(n)));
    return names.filter((_, i) => changed[i]);
  }

  /** How configuration reloads went (the caller that reads the file reports refusals). */
  private readonly reloads: ReloadStatus = { succeeded: 0, failed: 0, lastOk: true, lastSuccessAt: Date.now() };

  /** Records a reload's outcome, for metrics: a refused file never reaches reload() itself. */
  noteReload(ok: boolean): void {
    if (ok) {
      this.reloads.succeeded++;
      this.reloads.lastSuccessAt = Date.now();
    } else this.reloads.failed++;
    this.reloads.lastOk = ok;
  }

  /** A snapshot of counters for logs, `status` and metrics. */
  snapshot(): ServerSnapshot {
    const plane = this.inline?.snapshot() ?? this.pool!.snapshot();
    const gate = this.pool?.gate() ?? null;
    const guardStage = this.inlineGuard;
    const rs = this.config.defence.randomSubdomain;
    return {
      ...plane,
      zoneReloads: [...this.zoneReloads].map(([key, count]) => {
        const at = key.lastIndexOf('|');
        return { zone: key.slice(0, at), result: key.slice(at + 1) as 'ok' | 'refused', count };
      }),
      flood: {
        ...plane.flood,
        flagged: this.flood.active().length,
        ...this.flood.counters,
        enabled: rs.enabled,
        mode: rs.mode,
        tracked: this.flood.tracked,
      },
      events: {
        published: this.events.published,
        dropped: this.events.dropped,
        queueDepth: this.events.depth,
        sinkErrors: this.events.sinkErrors,
        sinks: this.events.sinkStatus(),
      },
      reloads: { ...this.reloads },
      policy: {
        ...plane.policy,
        eventsHeld: this.policyEventLimit.held,
        feeds: this.feedStatus(),
      },
      queryLog:
        this.pool === null
          ? {
              mode: this.queryLog.mode,
              logged: this.queryLog.logged,
              dropped: this.queryLog.dropped,
              retained: this.queryLog.retained,
              writeErrors: this.queryLog.writeErrors,
            }
          : { mode: this.queryLog.mode, ...this.pool.queryLogCounts(), retained: this.queryLog.retained },
      guard: {
        mode: this.mode,
        ...this.guard.counters,
        // Repeats the I/O threads settled count as the detector's queries and repeats.
        queries: this.guard.counters.queries + (gate?.repeats ?? 0),
        repeats: this.guard.counters.repeats + (gate?.repeats ?? 0),
        blocked: guardStage?.blocked ?? gate!.blocked,
        // Threaded, monitor mode: the queries the brain would have blocked count too (the gate
        // only sees those that came after the block reached the table).
        wouldBlock:
          guardStage?.wouldBlock ?? gate!.wouldBlock + (this.mode === 'monitor' ? this.brain!.passedBeforeBlock : 0),
        failOpen: guardStage?.failOpen ?? this.detectorErrors,
        retraining: { jobs: this.relearner.jobs, skipped: this.relearner.skipped, errors: this.relearner.errors },
        domains: this.guard.domains.size,
        clients: this.guard.clients.size,
        pairs: this.guard.pairs.size,
        activeBlocks: this.guard.activeBlocks(Date.now() / 1000).length,
        snapshots: this.guardStore
          ? {
              saves: this.guardStore.saves,
              skipped: this.guardStore.skippedSaves,
              lastBytes: this.guardStore.lastSaveBytes,
              lastMs: this.guardStore.lastSaveMs,
            }
          : null,
      },
      cluster: this.cluster?.snapshot() ?? null,
      dynamicBlocks: { ...this.dynamicBlocks.counters(), errors: this.dynamicErrors },
      plane:
        this.pool === null || this.brain === null
          ? null
          : {
              threads: this.pool.size,
              ...gate!,
              brainConsumed: this.brain.consumed,
              brainBacklog: this.brain.backlog,
              brainFailOpen: this.brain.failOpen,
              passedBeforeBlock: this.brain.passedBeforeBlock,
              threadRestarts: this.pool.restarts,
            },
    };
  }
}
