/**
 * The data plane's half of dynamic blocks: what each client prefix sent and received since the
 * last take (queries, NXDOMAIN and SERVFAIL answers, answer bytes, rare query types), counted on
 * the I/O thread that saw the query, cache hits included. The rules are weighed elsewhere, once a
 * second on the main thread (dynamic-blocks.ts), from the deltas `take()` hands over.
 *
 * Per query the cost is one map probe and a few additions into a Float64Array: no allocation once
 * a prefix has its slot. Memory is bounded as in the rate limiter (client-rate-limiter.ts): at
 * most `maxTracked` prefixes in two generations of maxTracked/2 slots each (approximate LRU); a
 * prefix seen again in the old generation moves to a young slot with its counts. When the young
 * generation fills, the old one is dropped: counts it still held since the last take are lost
 * (counted in `lost`), which can only make a rule later to fire, never fire on anyone wrongly.
 * A slot's counts are zeroed as they are taken; only the slots touched since the last take are
 * visited (a list of at most maxTracked slot numbers, allocated at start).
 */
import type { PrefixKey } from './client-prefix-keys.js';
import { TwoGenerationSlots } from './two-generation-slots.js';

/** What is counted per prefix, in this order in the counts arrays. */
export const TrafficMetric = { QUERIES: 0, NXDOMAIN: 1, SERVFAIL: 2, BYTES: 3, RARE_QTYPES: 4 } as const;
export const TRAFFIC_METRICS = 5;

/** Deltas since the last take: keys[i]'s counts are counts[i * TRAFFIC_METRICS …]. */
export interface TrafficDeltas {
  keys: PrefixKey[];
  counts: Float64Array;
}

const NXDOMAIN = 3;
const SERVFAIL = 2;

export class ClientTrafficCounter {
  private readonly slots: TwoGenerationSlots<PrefixKey>;
  private readonly counts: Float64Array;
  /** The key each slot was last given (kept until the slot is reused, so late answers still find their prefix). */
  private readonly slotKeys: PrefixKey[];
  private readonly touched: Int32Array;
  private readonly isTouched: Uint8Array;
  private touchedCount = 0;
  /** Queries counted but dropped with their generation before they were taken. */
  lost = 0;

  constructor(readonly maxTracked: number) {
    if (!Number.isInteger(maxTracked) || maxTracked < 2)
      throw new RangeError('maxTracked must be an integer of at least 2');
    this.slots = new TwoGenerationSlots(maxTracked >>> 1);
    const slots = 2 * this.slots.half;
    this.counts = new Float64Array(slots * TRAFFIC_METRICS);
    this.slotKeys = new Array<PrefixKey>(slots).fill(0);
    this.touched = new Int32Array(slots);
    this.isTouched = new Uint8Array(slots);
  }

  get tracked(): number {
    return this.slots.size;
  }

  /** Bumped when the old generation is dropped: an answer whose query was counted before holds a stale slot. */
  get generation(): number {
    return this.slots.generation;
  }

  /** A new counter replacing one starts past its generation, so answers to the old one's queries are not counted. */
  set generation(value: number) {
    this.slots.generation = value;
  }

  get evictions(): number {
    return this.slots.evictions;
  }

  /** Counts a query of `key`'s prefix; returns its slot, for countAnswer. */
  countQuery(key: PrefixKey, rare: boolean): number {
    let slot = this.slots.youngSlot(key);
    if (slot < 0) slot = this.youngSlot(key);
    const at = slot * TRAFFIC_METRICS;
    this.counts[at + TrafficMetric.QUERIES]++;
    if (rare) this.counts[at + TrafficMetric.RARE_QTYPES]++;
    this.touch(slot);
    return slot;
  }

  /** Counts the answer to a query counted at `slot` in `generation` (a stale one is not counted). */
  countAnswer(slot: number, generation: number, rcode: number, bytes: number): void {
    if (generation !== this.generation) return;
    const at = slot * TRAFFIC_METRICS;
    if (rcode === NXDOMAIN) this.counts[at + TrafficMetric.NXDOMAIN]++;
    else if (rcode === SERVFAIL) this.counts[at + TrafficMetric.SERVFAIL]++;
    this.counts[at + TrafficMetric.BYTES] += bytes;
    this.touch(slot);
  }

  /** The counts since the last take (null when nothing was counted), zeroed here. */
  take(): TrafficDeltas | null {
    let rows = 0;
    for (let i = 0; i < this.touchedCount; i++)
      if (
        this.counts[this.touched[i] * TRAFFIC_METRICS] > 0 ||
        this.counts[this.touched[i] * TRAFFIC_METRICS + TrafficMetric.BYTES] > 0
      )
        rows++;
    if (rows === 0) {
      this.untouchAll();
      return null;
    }
    const keys: PrefixKey[] = [];
    const out = new Float64Array(rows * TRAFFIC_METRICS);
    for (let i = 0; i < this.touchedCount; i++) {
      const at = this.touched[i] * TRAFFIC_METRICS;
      if (this.counts[at] === 0 && this.counts[at + TrafficMetric.BYTES] === 0) continue;
      out.set(this.counts.subarray(at, at + TRAFFIC_METRICS), keys.length * TRAFFIC_METRICS);
      keys.push(this.slotKeys[this.touched[i]]);
    }
    this.untouchAll();
    return { keys, counts: out };
  }

  private untouchAll(): void {
    for (let i = 0; i < this.touchedCount; i++) {
      const slot = this.touched[i];
      this.counts.fill(0, slot * TRAFFIC_METRICS, (slot + 1) * TRAFFIC_METRICS);
      this.isTouched[slot] = 0;
    }
    this.touchedCount = 0;
  }

  private touch(slot: number): void {
    if (this.isTouched[slot] !== 0) return;
    this.isTouched[slot] = 1;
    this.touched[this.touchedCount++] = slot;
  }

  /** A young slot for a key not in the young generation: its old slot's counts move with it. */
  private youngSlot(key: PrefixKey): number {
    // A full young generation drops the old one first (with this key's old slot, if any: lost).
    if (this.slots.full) this.dropOld();
    const aged = this.slots.takeOld(key);
    const slot = this.slots.claim(key);
    this.slotKeys[slot] = key;
    const at = slot * TRAFFIC_METRICS;
    if (aged >= 0 && aged !== slot) {
      const from = aged * TRAFFIC_METRICS;
      this.counts.copyWithin(at, from, from + TRAFFIC_METRICS);
      this.counts.fill(0, from, from + TRAFFIC_METRICS);
    }
    return slot;
  }

  /** The young generation is full: the old one is forgotten and its half of the slots reused. */
  private dropOld(): void {
    const base = this.slots.oldBase;
    const half = this.slots.half;
    for (let i = 0; i < this.touchedCount; i++) {
      const slot = this.touched[i];
      if (slot < base || slot >= base + half) continue;
      this.lost += this.counts[slot * TRAFFIC_METRICS];
      this.counts.fill(0, slot * TRAFFIC_METRICS, (slot + 1) * TRAFFIC_METRICS);
    }
    this.slots.dropOld();
  }
}
