/**
 * The key of a client's prefix (an IPv4 /32 or /24, an IPv6 /64 or /56, as configured), shared by
 * the per-client limits that track clients: the rate limiter's buckets and the dynamic blocks'
 * traffic counters. The key of an IPv4 client is its masked address as a signed 32-bit integer
 * (a small integer to V8: no string, no allocation); an IPv6 client's key is the hex digits of its
 * prefix, made once per distinct address text and then cached (KEY_CACHE_SIZE texts). An
 * IPv4-mapped IPv6 address (a dual-stack socket) is the IPv4 client it stands for. Addresses in
 * the exempt ranges get EXEMPT.
 */
import { type Cidr, cidrContainsIpv4, cidrContainsIpv6, ipv4Number, maskIpv4, parseCidr } from '../util/cidr.js';
import { ipBytes } from '../util/ip-bytes.js';
import { ipv6Text } from '../util/ip-text.js';
import { TwoGenerationMap } from '../util/two-generation-map.js';

export type PrefixKey = number | string;

/** The key of an exempt address (never a real key: IPv4 keys are numbers, IPv6 keys hex digits). */
export const EXEMPT = '';

/** Cached IPv6 texts: enough for the active clients of a large network; a miss costs one parse. */
const KEY_CACHE_SIZE = 8192;

export class ClientPrefixKeys {
  private readonly exemptV4: Cidr[];
  private readonly exemptV6: Cidr[];
  /** IPv6 (and IPv4-mapped) address text → its key or EXEMPT. */
  private readonly keys = new TwoGenerationMap<string, PrefixKey>(KEY_CACHE_SIZE);

  constructor(
    readonly ipv4Prefix: number,
    readonly ipv6Prefix: number,
    exempt: readonly string[],
  ) {
    const ranges = exempt.map((text) => {
      const c = parseCidr(text);
      // The schema checked every entry; a caller that did not gets told which one.
      if (typeof c === 'string') throw new RangeError(`exempt: ${c}`);
      return c;
    });
    this.exemptV4 = ranges.filter((c) => c.family === 4);
    this.exemptV6 = ranges.filter((c) => c.family === 6);
  }

  /** The prefix key of an address, or EXEMPT. */
  keyOf(address: string): PrefixKey {
    const n = ipv4Number(address);
    if (n >= 0) return this.ipv4Key(n);
    const cached = this.keys.get(address);
    if (cached !== undefined) return cached;
    const key = this.ipv6Key(address);
    this.keys.set(address, key);
    return key;
  }

  private ipv4Key(n: number): PrefixKey {
    const exempt = this.exemptV4;
    for (let i = 0; i < exempt.length; i++) if (cidrContainsIpv4(exempt[i], n)) return EXEMPT;
    // `| 0` folds [0, 2^32) one-to-one onto signed 32-bit integers, which V8 keeps unboxed.
    return maskIpv4(n, this.ipv4Prefix) | 0;
  }

  private ipv6Key(address: string): PrefixKey {
    const b = ipBytes(address);
    // Listeners always give an address; anything else is keyed by its text (and still counted),
    // marked so that it can be neither EXEMPT nor an IPv6 prefix's hex digits.
    if (b === undefined) return `?${address}`;
    if (b.readUInt32BE(0) === 0 && b.readUInt32BE(4) === 0 && b.readUInt32BE(8) === 0xffff)
      return this.ipv4Key(b.readUInt32BE(12));
    const exempt = this.exemptV6;
    for (let i = 0; i < exempt.length; i++) if (cidrContainsIpv6(exempt[i], b)) return EXEMPT;
    const bits = this.ipv6Prefix;
    const whole = bits >>> 3;
    const rest = bits & 7;
    // The prefix's bytes in hex: one string per prefix, whatever way the address was written.
    const head = b.toString('hex', 0, whole);
    return rest === 0 ? head : head + (b[whole] & (0xff << (8 - rest)) & 0xff).toString(16).padStart(2, '0');
  }
}

/** A key as the CIDR it stands for (10.1.2.3/32, 2001:db8:1:2::/64), for listings and events. */
export function prefixKeyText(key: PrefixKey, ipv4Prefix: number, ipv6Prefix: number): string {
  if (typeof key === 'number') {
    const n = key >>> 0;
    return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}/${ipv4Prefix}`;
  }
  if (key.startsWith('?')) return key.slice(1);
  return `${ipv6Text(prefixKeyBytes(key), 0)}/${ipv6Prefix}`;
}

/** An IPv6 key's prefix as 16 address bytes (the rest zero). */
export function prefixKeyBytes(key: string): Uint8Array {
  const bytes = new Uint8Array(16);
  for (let i = 0; i * 2 < key.length && i < 16; i++) bytes[i] = parseInt(key.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
