/**
 * Per-client query rate limits: one token bucket per client prefix (an IPv4 /32 or /24, an IPv6
 * /64 or /56, as configured). A bucket holds at most `burst` tokens and gains `rate` per second;
 * a query takes one, and a query that finds none is over the limit (it takes nothing, so a
 * client sending ten times its rate still gets exactly its rate through).
 *
 * Memory is bounded: at most `maxTracked` buckets, kept as two generations (approximate LRU, as
 * in src/util/two-generation-map.ts: a prefix not seen while maxTracked/2 new prefixes arrived
 * is forgotten), plus the cache of IPv6 address texts and their keys (client-prefix-keys.ts). A forgotten
 * prefix starts again with a full bucket, as a new one does: eviction can only be lenient, never
 * limit anyone harder. A client over its limit queries all the time, so it stays in the young
 * generation and keeps its empty bucket.
 *
 * The buckets live in one Float64Array (tokens and time side by side, 16 bytes per maxTracked
 * slot, allocated at start) and the generations map a prefix key to its slot, a small integer:
 * updating a bucket allocates nothing. Each generation owns one half of the slots, filled in
 * order, so dropping the old generation frees its half at once, with no free list to keep. Keys
 * come from client-prefix-keys.ts (an IPv4 client's is a small integer, an IPv6 prefix's a cached
 * hex string). bench/rate-limiter.ts measures the bytes per tracked prefix and the time per query.
 */
import { EXEMPT, type PrefixKey } from './client-prefix-keys.js';
import { PrefixTable } from './prefix-table.js';

export interface ClientRateLimits {
  /** Queries per second a prefix may send, on average (may be fractional). */
  rate: number;
  /** Queries a prefix may send at once after being quiet: the bucket's size (at least 1). */
  burst: number;
  /** Leading bits of an IPv4 address that make one client (32: each address). */
  ipv4Prefix: number;
  /** Leading bits of an IPv6 address that make one client (64: a host's SLAAC /64). */
  ipv6Prefix: number;
  /** Addresses or CIDR ranges never limited (monitoring, downstream resolvers, NAT gateways). */
  exempt: readonly string[];
  /** Prefixes tracked at most (at least 2). */
  maxTracked: number;
}

export interface ClientRateLimiterCounters {
  /** Prefixes with a bucket now (at most maxTracked). */
  tracked: number;
  /** Buckets forgotten to stay within maxTracked since start. */
  evictions: number;
  /** Queries from exempt addresses, which no bucket saw. */
  exempted: number;
}

type Key = PrefixKey;

/**
 * What counts as a whole token: refills are sums of fractions (10 ms at 100/s is 0.1 × 10), and
 * ten additions of 0.1 make 0.9999999999999999, which would turn away a query that is on time.
 */
const WHOLE_TOKEN = 1 - 1e-6;

export class ClientRateLimiter {
  private limits!: ClientRateLimits;
  /**
   * Slot s holds a bucket's tokens at 2s and the clock reading (ms) they were counted at at 2s+1;
   * the slots are the prefixes seen in this generation and in the one before.
   */
  private readonly table = new PrefixTable<Key>(2);
  private perMs = 0;
  exempted = 0;

  constructor(limits: ClientRateLimits) {
    this.configure(limits);
  }

  /**
   * Applies new limits. A new rate or burst keeps every bucket (its tokens are capped at the new
   * burst on its next query); new prefix lengths or a new maxTracked start every bucket afresh,
   * since the old keys no longer mean the same clients.
   */
  configure(limits: ClientRateLimits): void {
    if (!(limits.rate > 0) || !(limits.burst >= 1))
      throw new RangeError('rate must be more than 0 and burst at least 1');
    this.table.configure(limits);
    this.perMs = limits.rate / 1000;
    this.limits = limits;
  }

  /**
   * Whether a query from `address` at `nowMs` may go on: true, and a token taken, when its
   * prefix has one (or the address is exempt); false when the prefix is over its rate. `nowMs`
   * is a monotonic clock in milliseconds (the query's arrival time in the server).
   */
  allow(address: string, nowMs: number): boolean {
    const key = this.table.keys.keyOf(address);
    if (key === EXEMPT) {
      this.exempted++;
      return true;
    }
    const state = this.table.state;
    let slot = this.table.slots.youngSlot(key);
    if (slot < 0) {
      const aged = this.table.slots.takeOld(key);
      if (aged < 0) {
        // New or forgotten: a full bucket, less this query's token.
        slot = this.table.slots.claim(key);
        state[2 * slot] = this.limits.burst - 1;
        state[2 * slot + 1] = nowMs;
        return true;
      }
      // Seen in the last generation: its bucket moves to a young slot.
      const tokens = state[2 * aged];
      const at = state[2 * aged + 1];
      slot = this.table.slots.claim(key);
      state[2 * slot] = tokens;
      state[2 * slot + 1] = at;
    }
    const elapsed = nowMs - state[2 * slot + 1];
    let tokens = state[2 * slot];
    if (elapsed > 0) {
      tokens += elapsed * this.perMs;
      state[2 * slot + 1] = nowMs;
    }
    if (tokens > this.limits.burst) tokens = this.limits.burst;
    if (tokens < WHOLE_TOKEN) {
      state[2 * slot] = tokens;
      return false;
    }
    state[2 * slot] = tokens - 1;
    return true;
  }

  counters(): ClientRateLimiterCounters {
    return { tracked: this.table.slots.size, evictions: this.table.evictions, exempted: this.exempted };
  }
}
