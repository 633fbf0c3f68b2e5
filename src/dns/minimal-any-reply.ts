/**
 * The RFC 8482 answer to an ANY query: one synthesized HINFO record, CPU "RFC8482" and an empty
 * OS, for the question's name. ANY is the favourite question of reflection attacks (one small
 * query, every record of a name back), and no real client needs its full answer; the record
 * says what happened to anyone reading a dig output. TTL 3600, as RFC 8482 §4.2 suggests, so
 * resolvers behind us cache it rather than ask again.
 */
import type { ParsedQuery } from './query-parser.js';
import {
  OPT_FIXED_LENGTH,
  RECORD_AT_QUESTION_LENGTH,
  replyFlags,
  writeOpt,
  writeRecordAtQuestion,
  writeReplyHead,
} from './reply.js';
import { HEADER_LENGTH } from './wire.js';

const HINFO = 13;
const TTL = 3600;
/** CPU: "RFC8482" as a character-string; OS: the empty one. */
const RDATA = Buffer.from([7, ...Buffer.from('RFC8482', 'latin1'), 0]);

export function buildMinimalAnyReply(request: Uint8Array, query: ParsedQuery): Buffer {
  const questionLength = query.questionEnd - HEADER_LENGTH;
  const out = Buffer.allocUnsafe(
    HEADER_LENGTH + questionLength + RECORD_AT_QUESTION_LENGTH + RDATA.length + (query.edns ? OPT_FIXED_LENGTH : 0),
  );
  let pos = writeReplyHead(out, request, query, replyFlags(query), true, 1, 0, query.edns ? 1 : 0);
  pos = writeRecordAtQuestion(out, pos, HINFO, query.qclass, TTL, RDATA);
  if (query.edns) pos = writeOpt(out, pos, 0, query.dnssecOk);
  return out.subarray(0, pos);
}
