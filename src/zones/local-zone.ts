/**
 * A local zone in memory, indexed for the query path: a Map from the lower-cased wire name
 * (latin1, as the cache key carries it) to the name's record sets, each record already encoded
 * (type, class, TTL and data; the owner is written at answer time, so a wildcard answer can
 * carry the asked name). Empty non-terminals are nodes without records, so "the name exists"
 * is one Map lookup. Bounded by the zone's own size (at most 1M records a zone, checked at load).
 */
import dnsPacket from 'dns-packet';
import { nameToWire } from '../dns/name.js';
import { QType } from '../dns/wire.js';
import { type BalanceRule, buildSetBalance, type SetBalance } from './balance.js';
import { splitLabels, type ZoneRecord, ZoneFileError } from './zone-file.js';

export interface RecordSet {
  type: number;
  /** Each record's bytes after its owner name. */
  records: Buffer[];
  /** The CNAME's target as a lower-case wire key, and as written (CNAME sets only). */
  targetKey: string;
  targetWire: Buffer;
  /** Weighted, health-checked choice among the records (A, AAAA, SRV with a `balance` rule). */
  balance: SetBalance | null;
}

export interface ZoneNode {
  /** The owner's wire form as written in the zone (case kept). */
  wire: Buffer;
  sets: Map<number, RecordSet>;
}

export interface LocalZone {
  /** Presentation name, no trailing dot ('' for the root). */
  name: string;
  key: string;
  nodes: Map<string, ZoneNode>;
  apex: ZoneNode;
  /** The SOA record for negative answers, its TTL the lesser of its TTL and MINIMUM (RFC 2308 §3). */
  negativeSoa: Buffer;
  records: number;
  /** Every balanced record set, for the health checker. */
  balances: SetBalance[];
  /** Who this zone answers (split horizon); null: every query. */
  view: ZoneView | null;
  /** The next zone of the same name (another view), tried when this one's view does not admit the query. */
  next: LocalZone | null;
}

/** A zone's view as the query path checks it: group names and listener keys (ADDR:PORT), null for any. */
export interface ZoneView {
  groups: Set<string> | null;
  listeners: Set<string> | null;
}

const EMPTY = Buffer.alloc(0);
/** A name's records in wire form at most: room is left in a 65,535-byte message for the rest of an answer. */
const MAX_NAME_BYTES = 60_000;
// dns-packet's record codec; its type declarations leave it out.
const answerCodec = (dnsPacket as unknown as { answer: { encode(record: unknown): Buffer } }).answer;
const TYPE_NUMBER: Record<string, number> = {
  A: QType.A,
  AAAA: QType.AAAA,
  CNAME: QType.CNAME,
  TXT: QType.TXT,
  MX: QType.MX,
  SRV: QType.SRV,
  NAPTR: 35,
  PTR: QType.PTR,
  SOA: QType.SOA,
  NS: QType.NS,
};

/** Lower-case wire key of a presentation name (escapes resolved), as cacheKey writes qnames. */
export function wireKey(name: string): string {
  return nameToWire(unescapeName(name))
    .toString('latin1')
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function unescapeName(name: string): string {
  if (name === '' || name === '.') return '';
  if (!name.includes('\\')) return name;
  // Labels are split at unescaped dots first; an escaped dot inside a label cannot go through nameToWire's split.
  return splitLabels(name)
    .map((l) => l.replace(/\\(\d{3}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(Number(e)) : e)))
    .join('.');
}

function ownerWire(name: string): Buffer {
  return name.includes('\\') ? wireOfLabels(splitLabels(name)) : nameToWire(name);
}

function wireOfLabels(labels: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) {
    const bytes = Buffer.from(
      l.replace(/\\(\d{3}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(Number(e)) : e)),
      'latin1',
    );
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function nameOfWire(wire: Buffer): string {
  const labels: string[] = [];
  for (let pos = 0; wire[pos] !== 0; pos += wire[pos] + 1)
    labels.push(wire.toString('latin1', pos + 1, pos + 1 + wire[pos]));
  return labels.join('.');
}

/** The record's bytes after its owner: encoded with dns-packet under the root name, whose one byte is cut. */
function encodeAfterOwner(r: ZoneRecord, ttl: number = r.ttl): Buffer {
  const data = r.type === 'TXT' ? (r.data as string[]).map((t) => Buffer.from(t, 'latin1')) : r.data;
  const encoded = answerCodec.encode({ name: '.', type: r.type, class: 'IN', ttl, data } as unknown);
  return Buffer.from(encoded.subarray(1));
}

function isUnder(name: string, zone: string): boolean {
  const n = name.toLowerCase();
  const z = zone.toLowerCase();
  return z === '' || n === z || n.endsWith(`.${z}`);
}

/**
 * Builds a zone from its records, refusing what an authoritative server would refuse: records
 * outside the zone, no SOA or several, an SOA below the apex, a CNAME beside other data, NS
 * records below the apex (no delegations: every name here is answered here).
 */
export function buildZone(
  zoneName: string,
  records: ZoneRecord[],
  file: string,
  balance: readonly BalanceRule[] = [],
): LocalZone {
  const name = zoneName === '.' ? '' : zoneName.replace(/\.$/, '');
  const key = wireKey(name);
  const nodes = new Map<string, ZoneNode>();
  let soa: ZoneRecord | null = null;
  for (const r of records) {
    if (!isUnder(r.name, name))
      throw new ZoneFileError(file, r.line, `${r.name || '.'} is outside the zone ${name || '.'}`);
    const k = wireKey(r.name);
    if (r.type === 'SOA') {
      if (k !== key)
        throw new ZoneFileError(file, r.line, `an SOA belongs at the zone's apex ${name || '.'}, not at ${r.name}`);
      if (soa !== null) throw new ZoneFileError(file, r.line, `a second SOA (the first is on line ${soa.line})`);
      soa = r;
    }
    if (r.type === 'NS' && k !== key)
      throw new ZoneFileError(
        file,
        r.line,
        `NS records below the apex (${r.name}) would delegate, and local zones answer every name themselves`,
      );
    if (r.name.split('.').some((l, i) => l === '*' && i > 0))
      throw new ZoneFileError(file, r.line, `"*" is a wildcard only as the leftmost label (${r.name})`);
    let node = nodes.get(k);
    if (node === undefined) {
      node = { wire: ownerWire(r.name), sets: new Map() };
      nodes.set(k, node);
    }
    const type = TYPE_NUMBER[r.type];
    let set = node.sets.get(type);
    if (set === undefined) {
      set = {
        type,
        records: [],
        targetKey: r.type === 'CNAME' ? wireKey(r.data as string) : '',
        targetWire: r.type === 'CNAME' ? ownerWire(r.data as string) : EMPTY,
        balance: null,
      };
      node.sets.set(type, set);
    } else if (r.type === 'CNAME') throw new ZoneFileError(file, r.line, `a second CNAME at ${r.name}`);
    if (node.sets.size > 1 && node.sets.has(QType.CNAME))
      throw new ZoneFileError(file, r.line, `${r.name} has a CNAME and other data (RFC 1034 §3.6.2)`);
    set.records.push(encodeAfterOwner(r));
  }
  if (soa === null) throw new ZoneFileError(file, 1, `the zone ${name || '.'} has no SOA record at its apex`);
  // Every answer fits one DNS message (64 KiB, TCP's limit): a name's records together, plus a question, chain and SOA.
  for (const node of nodes.values()) {
    let bytes = 0;
    for (const set of node.sets.values()) for (const r of set.records) bytes += r.length + node.wire.length;
    if (bytes > MAX_NAME_BYTES) {
      const first = records.find((r) => wireKey(r.name) === wireKey(node.wire.length > 0 ? nameOfWire(node.wire) : ''));
      throw new ZoneFileError(
        file,
        first?.line ?? 1,
        `the records of ${first?.name ?? 'one name'} take ${bytes} bytes, more than one DNS message can carry (${MAX_NAME_BYTES})`,
      );
    }
  }
  // Empty non-terminals: every ancestor up to the apex exists as a name, without records (RFC 4592 §2.2.2).
  for (const k of [...nodes.keys()]) {
    let sub = k;
    while (sub.length > key.length) {
      sub = sub.slice(sub.charCodeAt(0) + 1);
      if (nodes.has(sub)) continue;
      nodes.set(sub, { wire: Buffer.from(sub, 'latin1'), sets: new Map() });
    }
  }
  const balances: SetBalance[] = [];
  for (const rule of balance) {
    const k = wireKey(rule.name.replace(/\.$/, ''));
    const node = nodes.get(k);
    const fail = (reason: string): never => {
      throw new ZoneFileError(file, 0, `balance ${rule.name}: ${reason}`);
    };
    if (node === undefined) fail(`no such name in the zone ${name || '.'}`);
    let found = false;
    for (const type of ['A', 'AAAA', 'SRV'] as const) {
      const own = records.filter((r) => r.type === type && wireKey(r.name) === k);
      if (own.length === 0) continue;
      found = true;
      const b = buildSetBalance(rule, own);
      if (typeof b === 'string') fail(b);
      const sb = b as SetBalance;
      // An SRV target is checked at its address in this zone: health checks never ask a resolver.
      for (const t of sb.targets) {
        if (t === null || type !== 'SRV') continue;
        const address = records.find((r) => (r.type === 'A' || r.type === 'AAAA') && r.name.toLowerCase() === t.host);
        if (address === undefined) fail(`the SRV target ${t.host} has no A or AAAA record in the zone to check`);
        t.host = String(address!.data);
      }
      node!.sets.get(TYPE_NUMBER[type])!.balance = sb;
      balances.push(sb);
    }
    if (!found) fail('the name has no A, AAAA or SRV records to balance');
    const known = new Set(
      records
        .filter((r) => wireKey(r.name) === k && (r.type === 'A' || r.type === 'AAAA' || r.type === 'SRV'))
        .map((r) =>
          (r.type === 'SRV' ? String((r.data as { target: string }).target) : String(r.data))
            .toLowerCase()
            .replace(/\.$/, ''),
        ),
    );
    for (const target of Object.keys(rule.weights))
      if (!known.has(target.toLowerCase().replace(/\.$/, '')))
        fail(
          `weights name ${target}, which is not a record of ${rule.name} (expected its addresses or SRV targets: ${[...known].join(', ')})`,
        );
  }
  const minimum = (soa.data as { minimum: number }).minimum;
  return {
    name,
    key,
    nodes,
    apex: nodes.get(key)!,
    negativeSoa: encodeAfterOwner(soa, Math.min(soa.ttl, minimum)),
    records: records.length,
    balances,
    view: null,
    next: null,
  };
}
