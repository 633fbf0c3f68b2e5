/**
 * RPZ response-IP triggers (`rpz-ip`): rules on the addresses in answers, matched by longest
 * prefix. One map per feed keyed by (family, prefix length, masked address), probed once per
 * prefix length the feed uses (feeds use few), so a lookup is a handful of map reads.
 */
import type { LocalRecord, RuleAction } from './rule-types.js';

export interface IpRule {
  family: 4 | 6;
  bits: number;
  /** The masked address, as lower-case hex of its bytes. */
  network: string;
  action: RuleAction;
  line: number;
  /** The trigger as the zone writes it, e.g. 32.1.2.0.192.rpz-ip. */
  trigger: string;
  records?: LocalRecord[];
}

/** `bits.o4.o3.o2.o1` (IPv4) or `bits.w8…w1` with `zz` for `::` (IPv6), reversed as RPZ writes them. */
export function parseIpTrigger(trigger: string): { family: 4 | 6; bits: number; bytes: Uint8Array } | undefined {
  const labels = trigger.split('.');
  const bits = Number(labels[0]);
  const parts = labels.slice(1).reverse();
  if (!Number.isInteger(bits) || bits < 1) return undefined;
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) && bits <= 32) {
    return { family: 4, bits, bytes: Uint8Array.from(parts.map(Number)) };
  }
  if (bits > 128 || parts.filter((p) => p === 'zz').length > 1) return undefined;
  const groups: number[] = [];
  for (const p of parts) {
    if (p === 'zz') {
      const missing = 8 - (parts.length - 1);
      if (missing < 1) return undefined;
      for (let i = 0; i < missing; i++) groups.push(0);
    } else if (/^[0-9a-f]{1,4}$/i.test(p)) groups.push(parseInt(p, 16));
    else return undefined;
  }
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 6, bits, bytes };
}

export function maskedHex(bytes: Uint8Array, bits: number): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const b = bytes[i] & (keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff);
    out += b.toString(16).padStart(2, '0');
  }
  return out;
}

export class IpRuleSet {
  private readonly rules = new Map<string, IpRule>();
  private readonly lengths: Record<4 | 6, number[]> = { 4: [], 6: [] };

  constructor(list: IpRule[]) {
    for (const r of list) {
      const key = `${r.family}/${r.bits}/${r.network}`;
      // The first rule for a prefix wins, as for names.
      if (this.rules.has(key)) continue;
      this.rules.set(key, r);
      if (!this.lengths[r.family].includes(r.bits)) this.lengths[r.family].push(r.bits);
    }
    this.lengths[4].sort((a, b) => b - a);
    this.lengths[6].sort((a, b) => b - a);
  }

  get size(): number {
    return this.rules.size;
  }

  /** The rules in force (the first for each prefix), from which a copy of this set is made. */
  list(): IpRule[] {
    return [...this.rules.values()];
  }

  /** The longest-prefix rule covering this address (4 or 16 bytes). */
  match(address: Uint8Array): IpRule | undefined {
    const family = address.length === 4 ? 4 : 6;
    for (const bits of this.lengths[family]) {
      const r = this.rules.get(`${family}/${bits}/${maskedHex(address, bits)}`);
      if (r !== undefined) return r;
    }
    return undefined;
  }
}
