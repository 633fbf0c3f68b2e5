/**
 * Walks an upstream response once to learn what the cache and the pipeline need: rcode,
 * where every TTL sits (so cache hits can patch TTLs without decoding), the TTL to cache
 * it for, and the negative-caching TTL from the SOA (RFC 2308 §5). Record data is not decoded.
 */
import { skipName } from './name.js';
import { RecordCursor, Section } from './record-cursor.js';
import { Flag, HEADER_LENGTH, QType } from './wire.js';

export interface ScannedResponse {
  id: number;
  flags: number;
  /** Full rcode, including the OPT record's extended bits. */
  rcode: number;
  truncated: boolean;
  questionEnd: number;
  qtype: number;
  qclass: number;
  ancount: number;
  nscount: number;
  arcount: number;
  /** Offsets of the 32-bit TTL field of every record but OPT. */
  ttlOffsets: number[];
  /** Smallest TTL of any record but OPT; -1 when there are none. */
  minTtl: number;
  /** min(SOA TTL, SOA MINIMUM) of the first SOA in the authority section; -1 without one. */
  negativeTtl: number;
  optOffset: number;
}

export type ScanResult = ScannedResponse | string;

const cursor = new RecordCursor();

/** Returns the scan, or a string saying why the message is malformed. */
export function scanResponse(buf: Uint8Array, end: number = buf.length): ScanResult {
  if (end < HEADER_LENGTH) return 'shorter than a DNS header';
  const c = cursor.start(buf, end);
  if (!(c.flags & Flag.QR)) return 'QR bit clear on a response';
  if (c.qdcount !== 1) return `question count ${c.qdcount}, expected 1`;
  if (c.error !== '') return c.errorText(0);
  const result: ScannedResponse = {
    id: (buf[0] << 8) | buf[1],
    flags: c.flags,
    rcode: c.flags & 0xf,
    truncated: (c.flags & Flag.TC) !== 0,
    questionEnd: c.questionEnd,
    qtype: c.qtype,
    qclass: c.qclass,
    ancount: c.ancount,
    nscount: c.nscount,
    arcount: c.arcount,
    ttlOffsets: [],
    minTtl: -1,
    negativeTtl: -1,
    optOffset: -1,
  };
  while (c.next()) {
    if (c.type === QType.OPT) {
      if (result.optOffset >= 0) return 'more than one OPT record';
      result.optOffset = c.nameAt;
      result.rcode |= buf[c.ttlAt] << 4;
    } else {
      // RFC 2181 §8: a TTL with the top bit set is treated as zero.
      const effective = c.ttl > 0x7fffffff ? 0 : c.ttl;
      result.ttlOffsets.push(c.ttlAt);
      if (result.minTtl < 0 || effective < result.minTtl) result.minTtl = effective;
      if (c.type === QType.SOA && c.section === Section.AUTHORITY && result.negativeTtl < 0) {
        result.negativeTtl = Math.min(effective, soaMinimum(buf, c.rdata, c.rdata + c.rdlength));
      }
    }
  }
  // A truncated UDP answer may legitimately stop mid-section (the header says so), but not mid-name.
  if (c.error !== '' && !(result.truncated && c.error !== 'name')) return c.errorText(c.index + 2);
  return result;
}

function soaMinimum(buf: Uint8Array, rdata: number, rdataEnd: number): number {
  let pos = skipName(buf, rdata, rdataEnd);
  if (pos < 0) return 0;
  pos = skipName(buf, pos, rdataEnd);
  if (pos < 0 || pos + 20 > rdataEnd) return 0;
  const m = pos + 16;
  return ((buf[m] << 24) | (buf[m + 1] << 16) | (buf[m + 2] << 8) | buf[m + 3]) >>> 0;
}
