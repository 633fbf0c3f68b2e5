/**
 * Authoritative answers from local zones (RFC 1034 §4.3.2 without delegations, RFC 4592
 * wildcards, RFC 2308 negative answers): exact names, CNAME chains followed while they stay in
 * the zone, wildcards synthesised under the asked name, NXDOMAIN and NODATA with the zone's SOA
 * in the authority section. Per query: Map lookups on slices of the cache key's wire name, the
 * found records written after the client's own question into one Buffer (no decode, no encode).
 */
import { OPT_FIXED_LENGTH, replyFlags, writeOpt, writeReplyHead } from '../dns/reply.js';
import type { ParsedQuery } from '../dns/query-parser.js';
import { Flag, HEADER_LENGTH, QType, Rcode } from '../dns/wire.js';
import { pickRecords } from './balance.js';
import type { LocalZone, RecordSet } from './local-zone.js';

/** CNAME hops followed inside a zone before the answer stops (a loop, or a long chain). */
export const MAX_CNAME_HOPS = 8;
const WILDCARD = '\x01*';
const QNAME_POINTER = Buffer.from([0xc0, HEADER_LENGTH]);

export const ZoneVerdict = {
  ANSWER: 'answer',
  CNAME: 'cname',
  WILDCARD: 'wildcard',
  NODATA: 'nodata',
  NXDOMAIN: 'nxdomain',
  REFUSED: 'refused',
} as const;
export type ZoneVerdict = (typeof ZoneVerdict)[keyof typeof ZoneVerdict];

/** The zones served, by the lower-case wire key of their apex. */
export type ZoneSet = Map<string, LocalZone>;

// Scratch for one answer at a time (the data plane is single-threaded per I/O thread).
const owners: Buffer[] = [];
const visited: string[] = [];
const parts: Buffer[] = [];

/**
 * The zone `nameKey` (a lower-case wire name) lies in, the deepest one whose view admits the
 * query (`admits`, asked only of zones with a view); null when none. A zone whose view does not
 * admit the query is skipped as if it did not exist: another view of it, or a parent zone, answers.
 */
export function findZone(zones: ZoneSet, nameKey: string, admits?: (zone: LocalZone) => boolean): LocalZone | null {
  let sub = nameKey;
  for (;;) {
    for (let zone: LocalZone | null = zones.get(sub) ?? null; zone !== null; zone = zone.next) {
      if (zone.view === null || admits === undefined || admits(zone)) return zone;
    }
    if (sub.length <= 1) return null;
    sub = sub.slice(sub.charCodeAt(0) + 1);
  }
}

function inZone(key: string, zoneKey: string): boolean {
  if (zoneKey.length === 1) return true;
  if (key.length < zoneKey.length || !key.endsWith(zoneKey)) return false;
  // The suffix must start at a label boundary.
  const at = key.length - zoneKey.length;
  let pos = 0;
  while (pos < at) pos += key.charCodeAt(pos) + 1;
  return pos === at;
}

export interface ZoneAnswer {
  answer: Buffer;
  verdict: ZoneVerdict;
}

const result: ZoneAnswer = { answer: Buffer.alloc(0), verdict: ZoneVerdict.ANSWER };

let picked = new Int32Array(64);

function push(owner: Buffer, set: RecordSet): void {
  const b = set.balance;
  if (b !== null) {
    if (picked.length < set.records.length) picked = new Int32Array(set.records.length);
    const n = pickRecords(b, picked);
    for (let i = 0; i < n; i++) {
      owners.push(owner);
      parts.push(set.records[picked[i]]);
    }
    return;
  }
  for (const r of set.records) {
    owners.push(owner);
    parts.push(r);
  }
}

/**
 * The authoritative answer to the query for `nameKey` in `zone`. The returned object is reused
 * by the next call: read it before answering another query.
 */
export function answerFromZone(zone: LocalZone, request: Uint8Array, query: ParsedQuery, nameKey: string): ZoneAnswer {
  owners.length = 0;
  parts.length = 0;
  visited.length = 0;
  const qtype = query.qtype;
  let rcode: number = Rcode.NOERROR;
  let withSoa = false;
  let verdict: ZoneVerdict = ZoneVerdict.ANSWER;
  if (qtype === QType.AXFR || qtype === QType.IXFR) {
    rcode = Rcode.REFUSED;
    verdict = ZoneVerdict.REFUSED;
  } else {
    let key = nameKey;
    // The first owner is the client's own name (a pointer to its question: its case is kept).
    let owner: Buffer = QNAME_POINTER;
    for (let hop = 0; ; hop++) {
      let node = zone.nodes.get(key);
      if (node === undefined) {
        // The closest encloser exists (the apex at worst); its wildcard, if any, answers (RFC 4592 §3.3.1).
        let sub = key;
        do sub = sub.slice(sub.charCodeAt(0) + 1);
        while (!zone.nodes.has(sub));
        node = zone.nodes.get(WILDCARD + sub);
        if (node === undefined) {
          rcode = Rcode.NXDOMAIN;
          withSoa = true;
          verdict = ZoneVerdict.NXDOMAIN;
          break;
        }
        if (verdict === ZoneVerdict.ANSWER) verdict = ZoneVerdict.WILDCARD;
      }
      if (qtype === QType.ANY) {
        for (const set of node.sets.values()) push(owner, set);
        if (node.sets.size === 0) {
          withSoa = true;
          verdict = ZoneVerdict.NODATA;
        }
        break;
      }
      const set = node.sets.get(qtype);
      if (set !== undefined) {
        push(owner, set);
        break;
      }
      const cname = node.sets.get(QType.CNAME);
      if (cname === undefined) {
        withSoa = true;
        verdict = ZoneVerdict.NODATA;
        break;
      }
      push(owner, cname);
      verdict = ZoneVerdict.CNAME;
      // A target outside the zone, one already answered (a loop) or a chain too long ends the answer
      // at the last CNAME, as an authoritative server does.
      visited.push(key);
      if (hop + 1 >= MAX_CNAME_HOPS || !inZone(cname.targetKey, zone.key) || visited.includes(cname.targetKey)) break;
      key = cname.targetKey;
      owner = cname.targetWire;
    }
  }
  const questionLength = query.questionEnd - HEADER_LENGTH;
  let size = HEADER_LENGTH + questionLength + (query.edns ? OPT_FIXED_LENGTH : 0);
  for (let i = 0; i < parts.length; i++) size += owners[i].length + parts[i].length;
  if (withSoa) size += zone.apex.wire.length + zone.negativeSoa.length;
  const out = Buffer.allocUnsafe(size);
  // Authoritative (RA too: dnsward recurses for other names).
  const aa = rcode === Rcode.REFUSED ? 0 : Flag.AA;
  const flags = replyFlags(query) | aa | rcode;
  let pos = writeReplyHead(out, request, query, flags, true, parts.length, withSoa ? 1 : 0, query.edns ? 1 : 0);
  for (let i = 0; i < parts.length; i++) {
    out.set(owners[i], pos);
    pos += owners[i].length;
    out.set(parts[i], pos);
    pos += parts[i].length;
  }
  if (withSoa) {
    out.set(zone.apex.wire, pos);
    pos += zone.apex.wire.length;
    out.set(zone.negativeSoa, pos);
    pos += zone.negativeSoa.length;
  }
  if (query.edns) pos = writeOpt(out, pos, rcode, query.dnssecOk);
  owners.length = 0;
  parts.length = 0;
  result.answer = out.subarray(0, pos);
  result.verdict = verdict;
  return result;
}
