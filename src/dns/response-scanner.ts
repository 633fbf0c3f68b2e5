/**
 * Walks an upstream response once to learn what the cache and the pipeline need: rcode,
 * where every TTL sits (so cache hits can patch TTLs without decoding), the TTL to cache
 * it for, and the negative-caching TTL from the SOA (RFC 2308 §5). Record data is not decoded.
 */
import { lastNameError, skipName } from './name.js';
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

/** Returns the scan, or a string saying why the message is malformed. */
export function scanResponse(buf: Uint8Array, end: number = buf.length): ScanResult {
  if (end < HEADER_LENGTH) return 'shorter than a DNS header';
  const flags = (buf[2] << 8) | buf[3];
  const qdcount = (buf[4] << 8) | buf[5];
  const ancount = (buf[6] << 8) | buf[7];
  const nscount = (buf[8] << 8) | buf[9];
  const arcount = (buf[10] << 8) | buf[11];
  if (!(flags & Flag.QR)) return 'QR bit clear on a response';
  if (qdcount !== 1) return `question count ${qdcount}, expected 1`;
  let pos = skipName(buf, HEADER_LENGTH, end);
  if (pos < 0) return `question: ${lastNameError}`;
  if (pos + 4 > end) return 'question runs past the end';
  const result: ScannedResponse = {
    id: (buf[0] << 8) | buf[1],
    flags,
    rcode: flags & 0xf,
    truncated: (flags & Flag.TC) !== 0,
    questionEnd: pos + 4,
    qtype: (buf[pos] << 8) | buf[pos + 1],
    qclass: (buf[pos + 2] << 8) | buf[pos + 3],
    ancount, nscount, arcount,
    ttlOffsets: [],
    minTtl: -1,
    negativeTtl: -1,
    optOffset: -1,
  };
  pos += 4;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    const recordStart = pos;
    pos = skipName(buf, pos, end);
    if (pos < 0) return `record ${i + 1}: ${lastNameError}`;
    if (pos + 10 > end) {
      // A truncated UDP answer may legitimately stop mid-section; the header says so.
      if (result.truncated) break;
      return `record ${i + 1} runs past the end`;
    }
    const type = (buf[pos] << 8) | buf[pos + 1];
    const ttl = ((buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]) >>> 0;
    const rdlength = (buf[pos + 8] << 8) | buf[pos + 9];
    const rdata = pos + 10;
    if (rdata + rdlength > end) {
      if (result.truncated) break;
      return `record ${i + 1} data runs past the end`;
    }
    if (type === QType.OPT) {
      if (result.optOffset >= 0) return 'more than one OPT record';
      result.optOffset = recordStart;
      result.rcode |= buf[pos + 4] << 4;
    } else {
      // RFC 2181 §8: a TTL with the top bit set is treated as zero.
      const effective = ttl > 0x7fffffff ? 0 : ttl;
      result.ttlOffsets.push(pos + 4);
      if (result.minTtl < 0 || effective < result.minTtl) result.minTtl = effective;
      if (type === QType.SOA && i >= ancount && i < ancount + nscount && result.negativeTtl < 0) {
        result.negativeTtl = Math.min(effective, soaMinimum(buf, rdata, rdata + rdlength));
      }
    }
    pos = rdata + rdlength;
  }
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
