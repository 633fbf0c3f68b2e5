/**
 * Dynamic blocks (rate rules over a client prefix's recent traffic, src/defence/dynamic-blocks.ts)
 * as cluster decisions, both ways: a block a rule started here, or an operator's lift here, is
 * shared; another node's is applied to this node's dynamic blocks, so a client flooding one node
 * behind anycast or ECMP is answered alike by all of them. Blocks from elsewhere are never
 * weighed or re-shared here; an address exempt here is never blocked from elsewhere.
 */
import { randomUUID } from 'node:crypto';
import type { DynamicBlock, DynamicBlocks } from '../defence/dynamic-blocks.js';
import type { ApplyOutcome } from './cluster-sync.js';
import type { Decision } from './decision.js';

/** A lift is remembered as long as a dynamic block could last from before it. */
const TOMBSTONE_SECONDS = 86_400;
const MAX_LIFTS = 10_000;

export class RateDecisions {
  /** Lifts (prefix → version ms), so a block from before one is not applied again. */
  private readonly lifted = new Map<string, { version: number; until: number; by: string; origin: string }>();

  constructor(
    private readonly blocks: () => DynamicBlocks,
    private readonly node: string,
  ) {}

  /** A block a rule started here (or one adopted from elsewhere, written back at a sync). */
  block(b: DynamicBlock): Decision {
    return {
      v: 1,
      id: randomUUID(),
      kind: 'rate-block',
      origin: b.origin ?? this.node,
      version: Math.round(b.since),
      sentAt: Date.now(),
      until: b.until / 1000,
      prefix: b.prefix,
      rule: b.rule,
      action: b.action,
      reason: b.reason.slice(0, 400),
    };
  }

  /** An operator's lift here: remembered, and shared. */
  lift(prefix: string, atMs: number, by: string): Decision {
    const d: Decision = {
      v: 1,
      id: randomUUID(),
      kind: 'rate-unblock',
      origin: this.node,
      version: Math.round(atMs),
      sentAt: Date.now(),
      until: atMs / 1000 + TOMBSTONE_SECONDS,
      prefix,
      by: by.slice(0, 128),
    };
    this.noteLift(d);
    return d;
  }

  apply(d: Decision): ApplyOutcome {
    const prefix = d.prefix!;
    const lift = this.lifted.get(prefix);
    if (d.kind === 'rate-unblock') {
      if (lift !== undefined && lift.version >= d.version) return 'same';
      this.noteLift(d);
      const blocks = this.blocks();
      const own = blocks.list().find((b) => b.prefix === prefix);
      if (own === undefined) return 'same';
      if (own.since > d.version) return 'stale';
      blocks.lift(prefix);
      return 'applied';
    }
    if (lift !== undefined && lift.version >= d.version) return 'stale';
    const reason = `${d.reason ?? `client ${prefix} passed dynamic block rule "${d.rule}"`} (decided by node ${d.origin})`;
    const outcome = this.blocks().adopt({
      prefix,
      rule: d.rule!,
      action: d.action!,
      since: d.version,
      until: d.until * 1000,
      reason,
      origin: d.origin,
    });
    return outcome;
  }

  /** Every dynamic block in force here and the lifts still remembered (what a sync writes back). */
  current(nowMs: number): Decision[] {
    const out: Decision[] = this.blocks()
      .list()
      .filter((b) => b.until > nowMs)
      .map((b) => this.block(b));
    for (const [prefix, l] of this.lifted)
      if (l.until * 1000 > nowMs)
        out.push({
          v: 1,
          id: randomUUID(),
          kind: 'rate-unblock',
          origin: l.origin,
          version: l.version,
          sentAt: Date.now(),
          until: l.until,
          prefix,
          by: l.by,
        });
    return out;
  }

  private noteLift(d: Decision): void {
    this.lifted.delete(d.prefix!);
    this.lifted.set(d.prefix!, { version: d.version, until: d.until, by: d.by ?? 'operator', origin: d.origin });
    for (const [prefix, l] of this.lifted) {
      if (this.lifted.size <= MAX_LIFTS && l.until > d.version / 1000) break;
      this.lifted.delete(prefix);
    }
  }
}
