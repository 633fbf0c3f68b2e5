/**
 * The one builder of the answers dnsward writes itself: errors (FORMERR … REFUSED, SERVFAIL of
 * the flood and shed stages), truncated replies, block answers (Tunnel Guard's and the response
 * policy's NXDOMAIN, REFUSED, NODATA or sinkhole), and the parts the RFC 8482 ANY answer
 * (minimal-any-reply.ts) and local zones (src/zones/zone-answer.ts) write theirs with: the header
 * and question, a record owned by the question's name, the OPT record. They echo the client's
 * question bytes, so the client's ID and 0x20 case survive. Each answer is sized first and
 * written into one Buffer: no encoder, nothing else allocated.
 */
import type { ParsedQuery } from './query-parser.js';
import { scanResponse } from './response-scanner.js';
import { DNSWARD_UDP_PAYLOAD, EDNS_OPTION_EDE, Flag, HEADER_LENGTH, Rcode } from './wire.js';

/** The longest EDE text (RFC 8914) a block or policy answer carries: a reason, not a transcript. */
export const MAX_EDE_TEXT = 200;

export interface ExtendedErrorInfo {
  code: number;
  text: string;
}

/** A sinkhole's TTL: short, so a lifted block is felt soon. */
const SINKHOLE_TTL = 60;
/** An OPT record without options. */
export const OPT_FIXED_LENGTH = 11;
/** A record whose owner is a pointer to the question's name, before its RDATA. */
export const RECORD_AT_QUESTION_LENGTH = 12;

function optLength(ede?: ExtendedErrorInfo): number {
  return OPT_FIXED_LENGTH + (ede ? 4 + 2 + Buffer.byteLength(ede.text, 'utf8') : 0);
}

/** A reply's flags: opcode, RD and CD as the client sent them; QR, and RA since dnsward recurses. The caller adds AA, TC, the rcode. */
export function replyFlags(query: ParsedQuery): number {
  return Flag.QR | Flag.RA | (query.flags & (0x7800 | Flag.RD | Flag.CD));
}

/**
 * Writes a reply's header at the start of `out` (the ID from the parsed query: the request's own
 * ID bytes are reused for upstream IDs) and, `withQuestion`, the client's question as it sent it;
 * returns where the answer section starts.
 */
export function writeReplyHead(
  out: Buffer,
  request: Uint8Array,
  query: ParsedQuery,
  flags: number,
  withQuestion: boolean,
  answers: number,
  authorities: number,
  additionals: number,
): number {
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(withQuestion ? 1 : 0, 4);
  out.writeUInt16BE(answers, 6);
  out.writeUInt16BE(authorities, 8);
  out.writeUInt16BE(additionals, 10);
  if (!withQuestion) return HEADER_LENGTH;
  out.set(request.subarray(HEADER_LENGTH, query.questionEnd), HEADER_LENGTH);
  return query.questionEnd;
}

/** Writes a record owned by the question's name (a compression pointer to it) at `pos`; returns the position after it. */
export function writeRecordAtQuestion(
  out: Buffer,
  pos: number,
  type: number,
  rrclass: number,
  ttl: number,
  rdata: Uint8Array,
): number {
  out.writeUInt16BE(0xc000 | HEADER_LENGTH, pos);
  out.writeUInt16BE(type, pos + 2);
  out.writeUInt16BE(rrclass, pos + 4);
  out.writeUInt32BE(ttl, pos + 6);
  out.writeUInt16BE(rdata.length, pos + 10);
  out.set(rdata, pos + RECORD_AT_QUESTION_LENGTH);
  return pos + RECORD_AT_QUESTION_LENGTH + rdata.length;
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
  const flags = replyFlags(query) | (opts.extraFlags ?? 0) | (rcode & 0xf);
  let pos = writeReplyHead(out, request, query, flags, opts.withQuestion, 0, 0, withOpt ? 1 : 0);
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
  const flags = (answer[2] << 8) | answer[3] | Flag.TC;
  let pos = writeReplyHead(out, request, query, flags, true, 0, 0, query.edns ? 1 : 0);
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
 * for a question of that type, NODATA for any other type.
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
  const answerLength = address === null ? 0 : RECORD_AT_QUESTION_LENGTH + address.length;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + questionLength + answerLength + (query.edns ? optLength(ede) : 0));
  let pos = writeReplyHead(
    out,
    request,
    query,
    replyFlags(query),
    true,
    address === null ? 0 : 1,
    0,
    query.edns ? 1 : 0,
  );
  if (address !== null) pos = writeRecordAtQuestion(out, pos, query.qtype, 1, SINKHOLE_TTL, address);
  if (query.edns) pos = writeOpt(out, pos, 0, query.dnssecOk, ede);
  return out.subarray(0, pos);
}

/** How a block is answered: the choices Tunnel Guard's settings and the response policy's actions share. */
export type BlockAnswer = 'nxdomain' | 'refused' | 'nodata' | 'sinkhole';

/** A block's answer, with its Extended DNS Error (a sinkhole answers at `ipv4` or `ipv6`, see buildSinkholeReply). */
export function buildBlockReply(
  request: Uint8Array,
  query: ParsedQuery,
  answer: BlockAnswer,
  ipv4: Uint8Array,
  ipv6: Uint8Array,
  ede: ExtendedErrorInfo,
): Buffer {
  if (answer === 'sinkhole') return buildSinkholeReply(request, query, ipv4, ipv6, ede);
  const rcode = answer === 'nxdomain' ? Rcode.NXDOMAIN : answer === 'refused' ? Rcode.REFUSED : Rcode.NOERROR;
  return buildRcodeReply(request, query, rcode, { withQuestion: true, ede });
}
