/**
 * What makes two responses "the same" for response-rate limiting, as BIND groups them: a
 * positive answer or NODATA by its question (name and type); NXDOMAIN by the zone the name is
 * under, so that a flood of random names under one domain is one class and not a million; every
 * error (SERVFAIL, REFUSED, FORMERR, ...) as one class. The result is a 32-bit hash, made from
 * the question's wire bytes without allocating.
 *
 * The zone of an NXDOMAIN is taken as the name's last two labels, not the SOA owner the
 * answer's authority section names: that needs no walk of the answer, and a public suffix of
 * two labels (co.uk) only makes the class wider, which limits the one prefix asking sooner.
 */
import { Rcode } from '../dns/wire.js';

const ERROR_CLASS = 0x5e7707;
const FNV_SEED = 0x811c9dc5;

/** The class hash of a response with `rcode` to the question whose name is at 12..qnameEnd in `request`, of type `qtype`. */
export function responseClass(request: Uint8Array, qnameEnd: number, qtype: number, rcode: number): number {
  if (rcode === Rcode.NOERROR) {
    let h = lowerFnv(FNV_SEED ^ 1, request, 12, qnameEnd);
    h = Math.imul(h ^ (qtype >>> 8), 0x01000193);
    return Math.imul(h ^ (qtype & 0xff), 0x01000193) >>> 0;
  }
  if (rcode === Rcode.NXDOMAIN) return lowerFnv(FNV_SEED ^ 3, request, lastTwoLabels(request, qnameEnd), qnameEnd);
  return ERROR_CLASS;
}

/** Offset of the second-to-last label of the uncompressed name at 12 (12 itself for names of one or two labels). */
function lastTwoLabels(request: Uint8Array, qnameEnd: number): number {
  let last = 12;
  let beforeLast = 12;
  let pos = 12;
  while (pos < qnameEnd && request[pos] !== 0) {
    beforeLast = last;
    last = pos;
    pos += request[pos] + 1;
  }
  return beforeLast;
}

function lowerFnv(h: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    h = Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), 0x01000193);
  }
  return h >>> 0;
}
