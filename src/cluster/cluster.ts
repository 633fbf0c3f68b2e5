/**
 * The cluster feature of one node (`cluster:` in the config): it shares every Tunnel Guard block,
 * operator decision and dynamic block through Redis (cluster-sync.ts) and applies the other
 * nodes' ones to this node's guard (guard-decisions.ts) and dynamic blocks (rate-decisions.ts). The server gives it a narrow ClusterHost: the guard,
 * and what to do once decisions from elsewhere took effect.
 *
 * Applying is synchronous and cheap (map writes); the follow-up (rebuilding the I/O threads'
 * block table, saving, events) runs once per turn of the event loop however many decisions
 * arrived in it, so a node joining a fleet with thousands of decisions rebuilds its table once.
 */
import type { Logger } from 'pino';
import type { TunnelGuard } from '../guard/tunnel-guard.js';
import type { ClusterSnapshot } from './cluster-counters.js';
import { type ApplyOutcome, ClusterSync, type DecisionTarget } from './cluster-sync.js';
import type { Decision } from './decision.js';
import { GuardDecisions } from './guard-decisions.js';
import { RateDecisions } from './rate-decisions.js';
import type { DynamicBlocks } from '../defence/dynamic-blocks.js';
import { SharedLearning } from './shared-learning.js';
import type { ClusterConfig } from './redis-client.js';
import { FleetEvents } from './fleet-events.js';

export interface ClusterHost {
  readonly guard: TunnelGuard;
  /** The node's dynamic blocks (defence.dynamicBlocks), shared like the guard's decisions. */
  readonly dynamicBlocks: () => DynamicBlocks;
  /**
   * Decisions from other nodes took effect in the guard: make the I/O threads see them, and keep
   * them (`blocks`: the learned-state snapshot; `operator`: the operator row). `reported` are the
   * ones that came as news (not at a sync), for events naming the node that decided.
   */
  applied(changes: ClusterChanges): void;
}

/** What decisions from other nodes changed in one turn of the event loop. */
export interface ClusterChanges {
  blocks: boolean;
  operator: boolean;
  /** Dynamic blocks (the data planes need the new set). */
  rates: boolean;
  reported: Decision[];
}

export class Cluster implements DecisionTarget {
  readonly sync: ClusterSync;
  readonly decisions: GuardDecisions;
  readonly learning: SharedLearning;
  readonly rates: RateDecisions;
  /** The fleet console's stream: this node's events out, the fleet's in (an event sink the server feeds). */
  readonly fleet: FleetEvents;
  private fleetCap: number;
  private pending: ClusterChanges | null = null;

  constructor(
    config: ClusterConfig,
    private readonly host: ClusterHost,
    private readonly log: Logger,
  ) {
    this.decisions = new GuardDecisions(host.guard, config.nodeName);
    this.rates = new RateDecisions(host.dynamicBlocks, config.nodeName);
    this.sync = new ClusterSync(config, this, log);
    this.learning = new SharedLearning(
      host.guard,
      config,
      { node: config.nodeName, redis: () => this.sync.redis() },
      this.sync.counters,
      log,
    );
    this.fleetCap = config.fleetEvents;
    this.fleet = new FleetEvents(
      {
        node: config.nodeName,
        key: () => this.sync.keys.events,
        cap: () => this.fleetCap,
        redis: () => this.sync.redis(),
      },
      this.sync.counters,
      log,
    );
  }

  get node(): string {
    return this.sync.node;
  }

  start(): void {
    this.host.guard.onBlock = (domain, block) => this.sync.publish(this.decisions.block(domain, block));
    this.sync.start();
    this.learning.start();
  }

  async reload(next: ClusterConfig): Promise<void> {
    await this.sync.reload(next);
    this.learning.reload(next);
    this.fleetCap = next.fleetEvents;
  }

  async stop(): Promise<void> {
    this.host.guard.onBlock = null;
    this.learning.stop();
    await this.sync.stop();
  }

  /** Shares an operator decision made here. */
  share(decision: Decision): void {
    this.sync.publish(decision);
  }

  snapshot(): ClusterSnapshot {
    const s = this.sync.snapshot();
    return { ...s, learning: { ...s.learning, pairs: this.learning.pairs } };
  }

  apply(decision: Decision, from: 'message' | 'sync'): ApplyOutcome {
    const rate = decision.kind === 'rate-block' || decision.kind === 'rate-unblock';
    const outcome = rate ? this.rates.apply(decision) : this.decisions.apply(decision, Date.now() / 1000);
    if (outcome !== 'applied') return outcome;
    if (this.pending === null) {
      this.pending = { blocks: false, operator: false, rates: false, reported: [] };
      setImmediate(() => this.settle());
    }
    if (rate) this.pending.rates = true;
    else if (decision.kind === 'block' || decision.kind === 'unblock') this.pending.blocks = true;
    if (!rate && decision.kind !== 'block') this.pending.operator = true;
    // Events for news only, bounded per turn: a sync's thousands of decisions are logged as a count.
    if (from === 'message' && this.pending.reported.length < 1000) this.pending.reported.push(decision);
    return outcome;
  }

  current(): Decision[] {
    return [...this.decisions.current(Date.now() / 1000), ...this.rates.current(Date.now())];
  }

  private settle(): void {
    const changes = this.pending!;
    this.pending = null;
    try {
      this.host.applied(changes);
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        'cluster: decisions from other nodes applied, but not all of their effects',
      );
    }
  }
}
