/**
 * Answers dnsward writes itself: errors, truncated replies and, later, policy answers.
 * They echo the client's question bytes, so the client's ID and 0x20 case survive.
 */
import type { ParsedQuery } from './query-parser.js';
import { scanResponse } from './response-scanner.js';
import { DNSWARD_UDP_PAYLOAD, EDNS_OPTION_EDE, Flag, HEADER_LENGTH } from './wire.js';

export interface ExtendedErrorInfo {
  code: number;
  text: string;
}

const OPT_FIXED_LENGTH = 11;

function optLength(ede?: ExtendedErrorInfo): number {
  return OPT_FIXED_LENGTH + (ede ? 4 + 2 + Buffer.byteLength(ede.text, 'utf8') : 0);
}

/** Writes an OPT record at `pos`; returns the position after it. */
export function writeOpt(out: Buffer, pos: number, rcode: number, dnssecOk: boolean, ede?: ExtendedErrorInfo): number {
  out[pos] = 0; // root owner name
  out.writeUInt16BE(41, pos + 1);
  out.writeUInt16BE(DNSWARD_UDP_PAYLOAD, pos + 3);
  out[pos + 5] = (rcode >> 4) & 0xff; // extended rcode
  out[pos + 6] = 0; // version
  out.writeUInt16BE(dnssecOk ? 0x8000 : 0, pos + 7);
  if (!ede) {
    out.writeUInt16BE(0, pos + 9);
    return pos + OPT_FIXED_LENGTH;
  }
  const textLength = out.write(ede.text, pos + 17, 'utf8');
  out.writeUInt16BE(6 + textLength, pos + 9);
  out.writeUInt16BE(EDNS_OPTION_EDE, pos + 11);
  out.writeUInt16BE(2 + textLength, pos + 13);
  out.writeUInt16BE(ede.code, pos + 15);
  return pos + 17 + textLength;
}

/**
 * A reply carrying only the header (and the question when it parsed), with `rcode`.
 * Used for FORMERR, NOTIMP, SERVFAIL, REFUSED, BADVERS and NXDOMAIN answers of our own.
 */
export function buildRcodeReply(
  request: Uint8Array,
  query: ParsedQuery,
  rcode: number,
  opts: { withQuestion: boolean; ede?: ExtendedErrorInfo; extraFlags?: number },
): Buffer {
  const questionLength = opts.withQuestion ? query.questionEnd - HEADER_LENGTH : 0;
  const withOpt = query.edns || rcode > 15;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + questionLength + (withOpt ? optLength(opts.ede) : 0));
  out.writeUInt16BE(query.id, 0);
  // Keep opcode and RD from the request; QR, RA and the low rcode bits are ours.
  const flags =
    Flag.QR | Flag.RA | (query.flags & (0x7800 | Flag.RD | Flag.CD)) | (opts.extraFlags ?? 0) | (rcode & 0xf);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(opts.withQuestion ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(withOpt ? 1 : 0, 10);
  let pos = HEADER_LENGTH;
  if (opts.withQuestion) {
    out.set(request.subarray(HEADER_LENGTH, query.questionEnd), HEADER_LENGTH);
    pos += questionLength;
  }
  if (withOpt) pos = writeOpt(out, pos, rcode, query.dnssecOk, opts.ede);
  return out.subarray(0, pos);
}

/**
 * The reply to send when a full answer exceeds the client's UDP payload: the header and
 * question with TC=1, so the client retries over TCP (RFC 7766 §5).
 */
export function buildTruncatedReply(answer: Uint8Array, request: Uint8Array, query: ParsedQuery): Buffer {
  const questionLength = query.questionEnd - HEADER_LENGTH;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + questionLength + (query.edns ? OPT_FIXED_LENGTH : 0));
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE((answer[2] << 8) | answer[3] | Flag.TC, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(query.edns ? 1 : 0, 10);
  out.set(request.subarray(HEADER_LENGTH, query.questionEnd), HEADER_LENGTH);
  let pos = HEADER_LENGTH + questionLength;
  if (query.edns) pos = writeOpt(out, pos, answer[3] & 0xf, query.dnssecOk);
  return out.subarray(0, pos);
}

/**
 * Copies the client's ID and question (with its 0x20 case) over an answer, in place. The ID
 * comes from the parsed query: the request's own ID bytes are reused for upstream IDs.
 */
export function stampClientIdentity(answer: Buffer, request: Uint8Array, query: ParsedQuery): void {
  answer[0] = query.id >> 8;
  answer[1] = query.id & 0xff;
  answer.set(request.subarray(HEADER_LENGTH, query.qnameEnd), HEADER_LENGTH);
}

/**
 * Adds an Extended DNS Error (RFC 8914) to an answer whose OPT record is its last record, as
 * OPT records almost always are. Returns the answer unchanged when it has no OPT (the client
 * sent no EDNS, so it may not get one) or when the OPT is not last.
 */
export function withExtendedError(answer: Buffer, ede: ExtendedErrorInfo): Buffer {
  const scan = scanResponse(answer);
  if (typeof scan === 'string' || scan.optOffset < 0) return answer;
  const rdlengthAt = scan.optOffset + 9;
  if (rdlengthAt + 2 > answer.length || rdlengthAt + 2 + answer.readUInt16BE(rdlengthAt) !== answer.length)
    return answer;
  const text = Buffer.from(ede.text, 'utf8');
  const option = Buffer.allocUnsafe(6 + text.length);
  option.writeUInt16BE(EDNS_OPTION_EDE, 0);
  option.writeUInt16BE(2 + text.length, 2);
  option.writeUInt16BE(ede.code, 4);
  text.copy(option, 6);
  const out = Buffer.concat([answer, option]);
  out.writeUInt16BE(answer.readUInt16BE(rdlengthAt) + option.length, rdlengthAt);
  return out;
}

/**
 * A sinkhole answer: NOERROR with one A or AAAA record pointing at `address` (4 or 16 bytes)
 * for a question of that type, NODATA for any other type. TTL 60, so a lifted block is felt soon.
 */
export function buildSinkholeReply(
  request: Uint8Array,
  query: ParsedQuery,
  ipv4: Uint8Array,
  ipv6: Uint8Array,
  ede?: ExtendedErrorInfo,
): Buffer {
  const address =
    query.qtype === 1 && query.qclass === 1 ? ipv4 : query.qtype === 28 && query.qclass === 1 ? ipv6 : null;
  const questionLength = query.questionEnd - HEADER_LENGTH;
  const answerLength = address === null ? 0 : 12 + address.length;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + questionLength + answerLength + (query.edns ? optLength(ede) : 0));
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE(Flag.QR | Flag.RA | (query.flags & (0x7800 | Flag.RD | Flag.CD)), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(address === null ? 0 : 1, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(query.edns ? 1 : 0, 10);
  out.set(request.subarray(HEADER_LENGTH, query.questionEnd), HEADER_LENGTH);
  let pos = HEADER_LENGTH + questionLength;
  if (address !== null) {
    out.writeUInt16BE(0xc000 | HEADER_LENGTH, pos); // the question's name
    out.writeUInt16BE(query.qtype, pos + 2);
    out.writeUInt16BE(1, pos + 4);
    out.writeUInt32BE(60, pos + 6);
    out.writeUInt16BE(address.length, pos + 10);
    out.set(address, pos + 12);
    pos += 12 + address.length;
  }
  if (query.edns) pos = writeOpt(out, pos, 0, query.dnssecOk, ede);
  return out.subarray(0, pos);
}
