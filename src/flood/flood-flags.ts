/**
 * The flagged flood domains as one data plane sees them: each with a token bucket for the new
 * names it may send upstream. The detector (main thread) sends the whole list when it changes
 * (an onset or an end: rare), as a message to every I/O thread or by a call inline; the data
 * plane rebuilds this small table from it. A query probes it with the 64-bit hash of its
 * registered domain (the policy tables' hash, name-hash.ts): one probe, no allocation.
 *
 * Bounds: MAX_FLOODS entries (the detector flags no more), a table of TABLE_SLOTS slots.
 */
import { nameHash } from '../policy/name-hash.js';
import { MAX_FLOODS } from './flood-detector.js';

const TABLE_SLOTS = 1024;

/** One flagged domain, as sent to the data planes. */
export interface FloodFlag {
  domain: string;
  /** New names a second the whole node may send upstream for it. */
  rate: number;
  /** Seconds since the epoch. */
  since: number;
}

/** A flagged domain's bucket on one data plane. */
export class FloodBucket {
  tokens: number;
  last = 0;
  constructor(
    readonly domain: string,
    readonly rate: number,
    readonly since: number,
  ) {
    // A full bucket at onset: one second's worth may go at once.
    this.tokens = rate;
  }

  /** Takes one token at `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    const elapsed = now - this.last;
    this.last = now;
    if (elapsed > 0) this.tokens = Math.min(this.rate, this.tokens + (elapsed * this.rate) / 1000);
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

export class FloodFlags {
  private readonly keys = new Int32Array(TABLE_SLOTS * 2);
  private readonly slots: Array<FloodBucket | null> = new Array<FloodBucket | null>(TABLE_SLOTS).fill(null);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * Replaces the flags. `share` is this data plane's part of the node's rate (1 / I/O threads):
   * the kernel spreads clients over the threads. A domain flagged before keeps its bucket.
   */
  set(flags: readonly FloodFlag[], share: number): void {
    const before = new Map<string, FloodBucket>();
    for (const b of this.slots) if (b !== null) before.set(b.domain, b);
    this.keys.fill(0);
    this.slots.fill(null);
    this.count = 0;
    const key = new Int32Array(2);
    for (const f of flags.slice(0, MAX_FLOODS)) {
      const rate = Math.max(1, f.rate * share);
      const old = before.get(f.domain);
      const bucket = old !== undefined && old.rate === rate ? old : new FloodBucket(f.domain, rate, f.since);
      nameHash(f.domain, key);
      let slot = (key[0] ^ key[1]) & (TABLE_SLOTS - 1);
      while (this.slots[slot] !== null) slot = (slot + 1) & (TABLE_SLOTS - 1);
      this.keys[slot * 2] = key[0];
      this.keys[slot * 2 + 1] = key[1];
      this.slots[slot] = bucket;
      this.count++;
    }
  }

  /** The bucket of the domain whose name hashes to (hi, lo), or null. */
  find(hi: number, lo: number): FloodBucket | null {
    if (this.count === 0) return null;
    let slot = (hi ^ lo) & (TABLE_SLOTS - 1);
    for (let probes = 0; probes < TABLE_SLOTS; probes++) {
      const b = this.slots[slot];
      if (b === null) return null;
      if (this.keys[slot * 2] === hi && this.keys[slot * 2 + 1] === lo) return b;
      slot = (slot + 1) & (TABLE_SLOTS - 1);
    }
    return null;
  }
}
