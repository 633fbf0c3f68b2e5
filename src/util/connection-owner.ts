/**
 * Who a connection counts against for per-client caps. An IPv4 address is one client; an IPv6
 * client is its /64, since one host is routinely given a whole /64 (SLAAC, privacy addresses)
 * and can open connections from as many addresses as it likes. An IPv4-mapped IPv6 address
 * (a dual-stack listener) is its IPv4 address.
 */
import { isIPv6 } from 'node:net';
import { ipBytes } from './ip-bytes.js';

export function connectionOwner(address: string): string {
  if (!isIPv6(address)) return address;
  const b = ipBytes(address);
  if (b === undefined) return address;
  if (b.readUInt32BE(0) === 0 && b.readUInt32BE(4) === 0 && b.readUInt32BE(8) === 0xffff)
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  return `${b.toString('hex', 0, 8)}/64`;
}

/** Open connections per owner, for a per-client cap (the DNS TCP listener, the management listeners). */
export class ConnectionsByOwner {
  private readonly counts = new Map<string, number>();

  /** Whether `owner` already holds `cap` connections. */
  atCap(owner: string, cap: number): boolean {
    return (this.counts.get(owner) ?? 0) >= cap;
  }

  add(owner: string): void {
    this.counts.set(owner, (this.counts.get(owner) ?? 0) + 1);
  }

  remove(owner: string): void {
    const n = (this.counts.get(owner) ?? 1) - 1;
    if (n > 0) this.counts.set(owner, n);
    else this.counts.delete(owner);
  }
}
