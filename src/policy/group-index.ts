/**
 * Which client group a query belongs to, for an MSP with thousands of tenants: the groups'
 * ranges in one map keyed by (family, prefix length, masked address), probed once per prefix
 * length in use (a handful), instead of testing every group's ranges in turn. The answer is
 * the same as that linear scan: the first group, in configuration order, whose ranges contain
 * the client (groups without ranges contain every client) and whose listeners include the
 * query's listener.
 */
import { ipv4Number, maskIpv4, parseCidr } from '../util/cidr.js';
import { ipBytes } from '../util/ip-bytes.js';
import { maskedHex } from './ip-rule-set.js';

export interface IndexedGroup {
  /** CIDR ranges; empty = every client. */
  clients: string[];
  /** Listener keys (ADDR:PORT), or null for every listener. */
  listeners: Set<string> | null;
}

/** IPv4 ranges keyed by a number: prefix length × 2^32 + masked address (exact below 2^53). */
const v4Key = (address: number, bits: number) => bits * 4294967296 + maskIpv4(address, bits);

export class GroupIndex<G extends IndexedGroup> {
  /** Group indexes (ascending) by IPv4 range (v4Key). */
  private readonly byV4 = new Map<number, number[]>();
  /** Group indexes (ascending) by IPv6 range: `${bits}/${masked address}`. */
  private readonly byV6 = new Map<string, number[]>();
  private readonly lengths: Record<4 | 6, number[]> = { 4: [], 6: [] };
  /** Groups without ranges, ascending. */
  private readonly everyClient: number[] = [];

  constructor(private readonly groups: readonly G[]) {
    const add = <K>(map: Map<K, number[]>, key: K, i: number) => {
      const list = map.get(key) ?? [];
      if (list[list.length - 1] !== i) list.push(i);
      map.set(key, list);
    };
    groups.forEach((g, i) => {
      if (g.clients.length === 0) this.everyClient.push(i);
      for (const cidr of g.clients) {
        // Ranges were checked with the configuration; one that is not is never matched.
        const c = parseCidr(cidr);
        if (typeof c === 'string') continue;
        if (c.family === 4) add(this.byV4, v4Key(c.v4, c.bits), i);
        else add(this.byV6, `${c.bits}/${maskedHex(c.bytes, c.bits)}`, i);
        if (!this.lengths[c.family].includes(c.bits)) this.lengths[c.family].push(c.bits);
      }
    });
  }

  find(client: string, listener: string | undefined): G | undefined {
    let best = this.first(this.everyClient, Number.MAX_SAFE_INTEGER, listener);
    const v4 = ipv4Number(client);
    if (v4 >= 0) {
      for (const bits of this.lengths[4]) best = this.first(this.byV4.get(v4Key(v4, bits)), best, listener);
    } else if (this.lengths[6].length > 0) {
      const bytes = ipBytes(client);
      if (bytes !== undefined && bytes.length === 16)
        for (const bits of this.lengths[6])
          best = this.first(this.byV6.get(`${bits}/${maskedHex(bytes, bits)}`), best, listener);
    }
    return best === Number.MAX_SAFE_INTEGER ? undefined : this.groups[best];
  }

  /** The lowest index in `list` below `best` whose listeners admit `listener`, else `best`. */
  private first(list: number[] | undefined, best: number, listener: string | undefined): number {
    if (list === undefined) return best;
    for (const i of list) {
      if (i >= best) return best;
      const l = this.groups[i].listeners;
      if (l === null || (listener !== undefined && l.has(listener))) return i;
    }
    return best;
  }
}
