/**
 * Address ranges matched in plain JavaScript: node:net's BlockList crosses into C++ and builds
 * a SocketAddress per check (about 5 µs, measured in bench/group-bench.ts), too slow for a
 * check on every query. IPv4 addresses are compared as numbers, without allocating.
 */
import { isIP } from 'node:net';
import { ipBytes } from './ip-bytes.js';

/** A dotted IPv4 address as an unsigned 32-bit number; -1 when it is not one. */
export function ipv4Number(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

/** An IPv4 number with the bits past the prefix cleared. */
export const maskIpv4 = (address: number, bits: number): number =>
  bits === 0 ? 0 : address - (address % 2 ** (32 - bits));

export interface Cidr {
  family: 4 | 6;
  bits: number;
  /** IPv4: the masked network as a number. */
  v4: number;
  /** IPv6: the address bytes (16). */
  bytes: Uint8Array;
}

/** `ADDR` or `ADDR/BITS`; a message saying what is wrong otherwise. */
export function parseCidr(text: string): Cidr | string {
  const [address, bitsText, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return `"${text}" is not an IP address or CIDR`;
  const max = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (bitsText !== undefined && !/^\d+$/.test(bitsText)))
    return `"${text}" has a bad prefix length`;
  if (family === 4) return { family: 4, bits, v4: maskIpv4(ipv4Number(address), bits), bytes: new Uint8Array(0) };
  return { family: 6, bits, v4: 0, bytes: ipBytes(address)! };
}

export function cidrContains(c: Cidr, address: string): boolean {
  if (c.family === 4) return cidrContainsIpv4(c, ipv4Number(address));
  if (isIP(address) !== 6) return false;
  return cidrContainsIpv6(c, ipBytes(address)!);
}

/** Whether an IPv6 range holds an address given as its 16 bytes. */
export function cidrContainsIpv6(c: Cidr, b: Uint8Array): boolean {
  if (c.family !== 6) return false;
  const whole = c.bits >>> 3;
  for (let i = 0; i < whole; i++) if (b[i] !== c.bytes[i]) return false;
  const rest = c.bits & 7;
  return rest === 0 || ((b[whole] ^ c.bytes[whole]) & ((0xff << (8 - rest)) & 0xff)) === 0;
}

/** Whether an IPv4 range holds an address already read with ipv4Number (-1, not an address, is in none). */
export function cidrContainsIpv4(c: Cidr, n: number): boolean {
  // >>> works on the unsigned 32-bit value (a shift by 32 would be a shift by 0, hence bits 0 apart).
  return c.family === 4 && n >= 0 && (c.bits === 0 || n >>> (32 - c.bits) === c.v4 >>> (32 - c.bits));
}
