/**
 * The RFC 8482 answer to an ANY query: one synthesized HINFO record, CPU "RFC8482" and an empty
 * OS, for the question's name. ANY is the favourite question of reflection attacks (one small
 * query, every record of a name back), and no real client needs its full answer; the record
 * says what happened to anyone reading a dig output. TTL 3600, as RFC 8482 §4.2 suggests, so
 * resolvers behind us cache it rather than ask again.
 */
import type { ParsedQuery } from './query-parser.js';
import { writeOpt } from './reply.js';
import { Flag, HEADER_LENGTH } from './wire.js';

const HINFO = 13;
const TTL = 3600;
/** CPU: "RFC8482" as a character-string; OS: the empty one. */
const RDATA = Buffer.from([7, ...Buffer.from('RFC8482', 'latin1'), 0]);
const OPT_LENGTH = 11;

export function buildMinimalAnyReply(request: Uint8Array, query: ParsedQuery): Buffer {
  const questionLength = query.questionEnd - HEADER_LENGTH;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + questionLength + 12 + RDATA.length + (query.edns ? OPT_LENGTH : 0));
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE(Flag.QR | Flag.RA | (query.flags & (0x7800 | Flag.RD | Flag.CD)), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(query.edns ? 1 : 0, 10);
  out.set(request.subarray(HEADER_LENGTH, query.questionEnd), HEADER_LENGTH);
  let pos = HEADER_LENGTH + questionLength;
  out.writeUInt16BE(0xc000 | HEADER_LENGTH, pos); // the question's name
  out.writeUInt16BE(HINFO, pos + 2);
  out.writeUInt16BE(query.qclass, pos + 4);
  out.writeUInt32BE(TTL, pos + 6);
  out.writeUInt16BE(RDATA.length, pos + 10);
  RDATA.copy(out, pos + 12);
  pos += 12 + RDATA.length;
  if (query.edns) pos = writeOpt(out, pos, 0, query.dnssecOk);
  return out.subarray(0, pos);
}
