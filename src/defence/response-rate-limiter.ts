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
 * bytes, cached per address text) times 2^21 plus 21 bits of the class hash. Two classes of one
 * prefix that share those 21 bits share a bucket, which can only limit that prefix a little
 * sooner. Checking an IPv4 client allocates nothing.
 */
import { type Cidr, cidrContainsIpv4, cidrContainsIpv6, ipv4Number, maskIpv4, parseCidr } from '../util/cidr.js';
import { ipBytes } from '../util/ip-bytes.js';
import { TwoGenerationMap } from '../util/two-generation-map.js';

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
const KEY_CACHE_SIZE = 8192;
const EXEMPT = -1;
/** As in client-rate-limiter.ts: sums of fractional refills must still make a whole token. */
const WHOLE_TOKEN = 1 - 1e-6;

export class ResponseRateLimiter {
  private limits!: ResponseRateLimits;
  private state = new Float64Array(0);
  private young = new Map<number, number>();
  private old = new Map<number, number>();
  private half = 0;
  private youngBase = 0;
  private keys!: TwoGenerationMap<string, number>;
  private exemptV4: Cidr[] = [];
  private exemptV6: Cidr[] = [];
  private perMs = 0;
  private floor = 0;
  private evictions = 0;

  constructor(limits: ResponseRateLimits) {
    this.configure(limits);
  }

  configure(limits: ResponseRateLimits): void {
    if (!(limits.responsesPerSecond > 0)) throw new RangeError('responsesPerSecond must be more than 0');
    if (!(limits.window >= 1000)) throw new RangeError('window must be at least a second');
    if (!Number.isInteger(limits.slip) || limits.slip < 0) throw new RangeError('slip must be a whole number');
    if (!Number.isInteger(limits.maxTracked) || limits.maxTracked < 2) throw new RangeError('maxTracked must be an integer of at least 2');
    const exempt = limits.exempt.map((text) => {
      const c = parseCidr(text);
      if (typeof c === 'string') throw new RangeError(`exempt: ${c}`);
      return c;
    });
    const old = this.limits;
    if (old === undefined || old.ipv4Prefix !== limits.ipv4Prefix || old.ipv6Prefix !== limits.ipv6Prefix || old.maxTracked !== limits.maxTracked) {
      this.half = limits.maxTracked >>> 1;
      this.state = new Float64Array(6 * this.half);
      this.young = new Map();
      this.old = new Map();
      this.youngBase = 0;
    }
    this.exemptV4 = exempt.filter((c) => c.family === 4);
    this.exemptV6 = exempt.filter((c) => c.family === 6);
    this.keys = new TwoGenerationMap(KEY_CACHE_SIZE);
    this.perMs = limits.responsesPerSecond / 1000;
    this.floor = -limits.responsesPerSecond * (limits.window / 1000);
    this.limits = limits;
  }

  /** What to do with a response of class `classHash` (any 32-bit number) to `address` at `nowMs` (monotonic). */
  check(address: string, classHash: number, nowMs: number): RrlVerdict {
    const prefix = this.prefixOf(address);
    if (prefix === EXEMPT) return RrlVerdict.EXEMPT;
    const key = prefix * CLASS_BITS + (classHash & (CLASS_BITS - 1));
    const s = this.state;
    const max = this.limits.responsesPerSecond;
    let slot = this.young.get(key);
    if (slot === undefined) {
      const aged = this.old.get(key);
      if (aged === undefined) {
        slot = this.newSlot(key);
        s[3 * slot] = max - 1;
        s[3 * slot + 1] = nowMs;
        s[3 * slot + 2] = 0;
        return RrlVerdict.SEND;
      }
      this.old.delete(key);
      const from = 3 * aged;
      slot = this.newSlot(key);
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
    return { tracked: this.young.size + this.old.size, evictions: this.evictions };
  }

  private newSlot(key: number): number {
    if (this.young.size >= this.half) {
      this.evictions += this.old.size;
      this.old = this.young;
      this.young = new Map();
      this.youngBase = this.half - this.youngBase;
    }
    const slot = this.youngBase + this.young.size;
    this.young.set(key, slot);
    return slot;
  }

  /** A prefix number in [0, 2^32), or EXEMPT. */
  private prefixOf(address: string): number {
    const n = ipv4Number(address);
    if (n >= 0) return this.ipv4Prefix(n);
    const cached = this.keys.get(address);
    if (cached !== undefined) return cached;
    const prefix = this.ipv6Prefix(address);
    this.keys.set(address, prefix);
    return prefix;
  }

  private ipv4Prefix(n: number): number {
    const exempt = this.exemptV4;
    for (let i = 0; i < exempt.length; i++) if (cidrContainsIpv4(exempt[i], n)) return EXEMPT;
    return maskIpv4(n, this.limits.ipv4Prefix) >>> 0;
  }

  private ipv6Prefix(address: string): number {
    const b = ipBytes(address);
    if (b === undefined) return fnv(0x811c9dc5, Buffer.from(address), 0, address.length);
    if (b.readUInt32BE(0) === 0 && b.readUInt32BE(4) === 0 && b.readUInt32BE(8) === 0xffff) return this.ipv4Prefix(b.readUInt32BE(12));
    const exempt = this.exemptV6;
    for (let i = 0; i < exempt.length; i++) if (cidrContainsIpv6(exempt[i], b)) return EXEMPT;
    const bits = this.limits.ipv6Prefix;
    const whole = bits >>> 3;
    const rest = bits & 7;
    let h = fnv(0x811c9dc5, b, 0, whole);
    if (rest !== 0) h = fnv(h, Uint8Array.of(b[whole] & (0xff << (8 - rest)) & 0xff), 0, 1);
    return h;
  }
}

/** FNV-1a over bytes, 32-bit, continuing from `h`. */
export function fnv(h: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h >>> 0;
}
