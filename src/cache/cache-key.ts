/**
 * The packet-cache key: lower-cased wire qname, qtype, qclass, and one byte of flags.
 * DO and CD are in the key because they change the answer (RRSIGs present, validation
 * skipped). Whether the client sent EDNS at all is in it too, so a client without EDNS
 * never gets an answer that carries an OPT record (RFC 6891 §7). A client's EDNS Client Subnet
 * option, when it sends one, is in the key too: an answer tailored to one subnet (RFC 7871)
 * must not be served to another.
 */
import type { ParsedQuery } from '../dns/query-parser.js';
import { Flag, HEADER_LENGTH } from '../dns/wire.js';

const scratch = Buffer.allocUnsafe(256 + 5 + 65535);

export const KeyFlag = { DO: 1, CD: 2, EDNS: 4 } as const;

export function cacheKey(buf: Uint8Array, q: ParsedQuery): string {
  let n = 0;
  // ASCII-only lower-casing: DNS names compare case-insensitively in ASCII only (RFC 4343).
  for (let i = HEADER_LENGTH; i < q.qnameEnd; i++) {
    const c = buf[i];
    scratch[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  scratch[n++] = buf[q.qnameEnd];
  scratch[n++] = buf[q.qnameEnd + 1];
  scratch[n++] = buf[q.qnameEnd + 2];
  scratch[n++] = buf[q.qnameEnd + 3];
  scratch[n++] = (q.dnssecOk ? KeyFlag.DO : 0) | (q.flags & Flag.CD ? KeyFlag.CD : 0) | (q.edns ? KeyFlag.EDNS : 0);
  for (let i = 0; i < q.ecsLength; i++) scratch[n++] = buf[q.ecsOffset + i];
  return scratch.toString('latin1', 0, n);
}

/** Length of the wire qname at the start of a key (the key may go on with an ECS option). */
export function keyNameLength(key: string): number {
  let pos = 0;
  while (pos < key.length && key.charCodeAt(pos) !== 0) pos += key.charCodeAt(pos) + 1;
  return pos + 1;
}
