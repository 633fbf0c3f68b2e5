/**
 * Response-rate limiting (RRL), as BIND does it: a token bucket per (client prefix, response
 * class). An attacker who forges a victim's address and asks the same question many times gets
 * the victim flooded with identical answers; RRL lets a prefix receive only `responsesPerSecond`
 * of one kind of answer, and turns the rest into drops or, every `slip`-th one, a TC=1 reply
 * that costs nothing to amplify and sends a real client (whose address was not forged) to TCP.
 *
 * The class is the caller's hash (see response-class.ts). A bucket holds at most one second's
 * worth of responses and goes into debt, down to `window` seconds' worth, while a prefix keeps
 * asking over its rate: a flood is limited for up to `window` seconds after it stops, as BIND's
 * `window` averages the rate over that span, so a pulsing attack does not get a fresh second's
 * burst every second.
 *
 * Memory is bounded as in client-rate-limiter.ts: at most `maxTracked` buckets in a Float64Array
 * of 24 bytes a slot (balance, time, limited count), allocated at start, in two generations of
 * Maps from a numeric key to a slot. A forgotten bucket starts full again (eviction is lenient).
 * The key is a number: the prefix (IPv4: the masked address; IPv6: a 32-bit hash of the prefix
 * key client-prefix-keys.ts caches per address text) times 2^21 plus 21 bits of the class hash. Two classes of one
 * prefix that share those 21 bits share a bucket, which can only limit that prefix a little
 * sooner. Checking an IPv4 client allocates nothing.
 */
import { EXEMPT } from './client-prefix-keys.js';
import { PrefixTable } from './prefix-table.js';

export interface ResponseRateLimits {
  /** Identical responses per second a prefix may receive; also the most it may receive at once. */
  responsesPerSecond: number;
  /** Milliseconds of debt a limited prefix may run up (how long a flood stays limited after it stops). */
  window: number;
  /** Every slip-th limited response is sent as TC=1 instead of dropped; 0: always drop, 1: always TC. */
  slip: number;
  ipv4Prefix: number;
  ipv6Prefix: number;
  exempt: readonly string[];
  maxTracked: number;
}

export const RrlVerdict = { SEND: 0, DROP: 1, SLIP: 2, EXEMPT: 3 } as const;
export type RrlVerdict = (typeof RrlVerdict)[keyof typeof RrlVerdict];

export interface ResponseRateLimiterCounters {
  tracked: number;
  evictions: number;
}

const CLASS_BITS = 0x200000; // 2^21
/** As in client-rate-limiter.ts: sums of fractional refills must still make a whole token. */
const WHOLE_TOKEN = 1 - 1e-6;

export class ResponseRateLimiter {
  private limits!: ResponseRateLimits;
  private readonly table = new PrefixTable<number>(3);
  private perMs = 0;
  private floor = 0;

  constructor(limits: ResponseRateLimits) {
    this.configure(limits);
  }

  configure(limits: ResponseRateLimits): void {
    if (!(limits.responsesPerSecond > 0)) throw new RangeError('responsesPerSecond must be more than 0');
    if (!(limits.window >= 1000)) throw new RangeError('window must be at least a second');
    if (!Number.isInteger(limits.slip) || limits.slip < 0) throw new RangeError('slip must be a whole number');
    this.table.configure(limits);
    this.perMs = limits.responsesPerSecond / 1000;
    this.floor = -limits.responsesPerSecond * (limits.window / 1000);
    this.limits = limits;
  }

  /** What to do with a response of class `classHash` (any 32-bit number) to `address` at `nowMs` (monotonic). */
  check(address: string, classHash: number, nowMs: number): RrlVerdict {
    const prefixKey = this.table.keys.keyOf(address);
    if (prefixKey === EXEMPT) return RrlVerdict.EXEMPT;
    // An IPv4 prefix is its masked address; an IPv6 one, a 32-bit hash of its key's hex digits.
    const prefix = typeof prefixKey === 'number' ? prefixKey >>> 0 : fnvText(prefixKey);
    const key = prefix * CLASS_BITS + (classHash & (CLASS_BITS - 1));
    const s = this.table.state;
    const max = this.limits.responsesPerSecond;
    let slot = this.table.slots.youngSlot(key);
    if (slot < 0) {
      const aged = this.table.slots.takeOld(key);
      if (aged < 0) {
        slot = this.table.slots.claim(key);
        s[3 * slot] = max - 1;
        s[3 * slot + 1] = nowMs;
        s[3 * slot + 2] = 0;
        return RrlVerdict.SEND;
      }
      const from = 3 * aged;
      slot = this.table.slots.claim(key);
      s[3 * slot] = s[from];
      s[3 * slot + 1] = s[from + 1];
      s[3 * slot + 2] = s[from + 2];
    }
    const at = 3 * slot;
    let balance = s[at];
    const elapsed = nowMs - s[at + 1];
    if (elapsed > 0) {
      balance += elapsed * this.perMs;
      s[at + 1] = nowMs;
    }
    if (balance > max) balance = max;
    if (balance >= WHOLE_TOKEN) {
      s[at] = balance - 1;
      return RrlVerdict.SEND;
    }
    s[at] = balance - 1 < this.floor ? this.floor : balance - 1;
    const limited = ++s[at + 2];
    const slip = this.limits.slip;
    return slip > 0 && limited % slip === 0 ? RrlVerdict.SLIP : RrlVerdict.DROP;
  }

  counters(): ResponseRateLimiterCounters {
    return { tracked: this.table.slots.size, evictions: this.table.evictions };
  }
}

/** FNV-1a over a string's char codes (hex digits here), 32-bit. */
function fnvText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}
