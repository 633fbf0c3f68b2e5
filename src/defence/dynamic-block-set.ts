/**
 * The dynamic blocks in force, as each data plane holds them: a small map from client prefix key
 * (client-prefix-keys.ts) to the block, replaced whole whenever the main thread's rules start,
 * extend, expire or lift one (dynamic-blocks.ts), as a message to each I/O thread (or a call,
 * with `threads: 0`). A query checks it with one map probe, and only when it is not empty.
 * Bound: the main thread sends at most defence.dynamicBlocks.maxBlocks entries.
 *
 * Ends are wall-clock times in the message (threads do not share a monotonic clock's origin) and
 * are turned into this thread's monotonic clock on arrival, so a query compares with the arrival
 * time it already has (ctx.startedAt) and reads no clock. A block also ends here at its time if
 * the main thread's next list is late.
 */
import type { PrefixKey } from './client-prefix-keys.js';

export type DynamicBlockAction = 'drop' | 'refused' | 'truncate' | 'nxdomain';

/** One block as the main thread sends it. */
export interface DynamicBlockEntry {
  key: PrefixKey;
  /** The prefix as a CIDR (10.1.2.3/32). */
  prefix: string;
  rule: string;
  action: DynamicBlockAction;
  /** Wall-clock end, milliseconds since the epoch. */
  until: number;
  /** Why, as the trace and the query log show it. */
  reason: string;
}

export interface ActiveDynamicBlock {
  rule: string;
  action: DynamicBlockAction;
  /** End on this thread's monotonic clock (performance.now()). */
  untilMono: number;
  reason: string;
  /** The trace's verdict, made once per block: dynamic-block:ACTION. */
  verdict: string;
}

export class DynamicBlockSet {
  private blocks = new Map<PrefixKey, ActiveDynamicBlock>();

  get size(): number {
    return this.blocks.size;
  }

  replace(entries: readonly DynamicBlockEntry[], nowEpochMs = Date.now(), nowMono = performance.now()): void {
    const next = new Map<PrefixKey, ActiveDynamicBlock>();
    for (const e of entries)
      next.set(e.key, {
        rule: e.rule,
        action: e.action,
        untilMono: nowMono + (e.until - nowEpochMs),
        reason: e.reason,
        verdict: `dynamic-block:${e.action}`,
      });
    this.blocks = next;
  }

  /** The block in force on `key` at `nowMono`, if any. */
  find(key: PrefixKey, nowMono: number): ActiveDynamicBlock | undefined {
    const b = this.blocks.get(key);
    return b !== undefined && b.untilMono > nowMono ? b : undefined;
  }
}
