/**
 * The hot-path query parser: header, the one question, and the EDNS(0) OPT record
 * (RFC 6891), located by walking record boundaries without decoding record data.
 * It is checked against `dns-packet` by a property test (test/dns/query-parser.test.ts)
 * and justified by bench/parse-bench.ts.
 */
import { lastNameError, skipName } from './name.js';
import {
  DEFAULT_UDP_PAYLOAD,
  EDNS_DO,
  EDNS_OPTION_COOKIE,
  EDNS_OPTION_ECS,
  Flag,
  HEADER_LENGTH,
  Opcode,
  QType,
} from './wire.js';

export interface ParsedQuery {
  id: number;
  flags: number;
  opcode: number;
  /** Offset just past the question's name; qtype follows. */
  qnameEnd: number;
  /** Offset just past the question's class. */
  questionEnd: number;
  qtype: number;
  qclass: number;
  edns: boolean;
  /** The client's advertised UDP payload size, 512 without EDNS. */
  udpPayload: number;
  dnssecOk: boolean;
  ednsVersion: number;
  /** Offset of the OPT record's first byte, -1 without EDNS. */
  optOffset: number;
  /** Offset and length of an EDNS Client Subnet option (RFC 7871), whole option; -1/0 without. */
  ecsOffset: number;
  ecsLength: number;
  /** Offset and length of a DNS COOKIE option (RFC 7873), whole option; -1/0 without. */
  cookieOffset: number;
  cookieLength: number;
}

export const ParseOutcome = { OK: 0, DROP: 1, FORMERR: 2, NOTIMP: 3, BADVERS: 4 } as const;
export type ParseOutcome = (typeof ParseOutcome)[keyof typeof ParseOutcome];

export interface ParseResult {
  outcome: ParseOutcome;
  /** Why the message is not OK, for counters and logs. */
  reason: string;
  query: ParsedQuery;
}

export function emptyQuery(): ParsedQuery {
  return {
    id: 0,
    flags: 0,
    opcode: 0,
    qnameEnd: 0,
    questionEnd: 0,
    qtype: 0,
    qclass: 0,
    edns: false,
    udpPayload: DEFAULT_UDP_PAYLOAD,
    dnssecOk: false,
    ednsVersion: 0,
    optOffset: -1,
    ecsOffset: -1,
    ecsLength: 0,
    cookieOffset: -1,
    cookieLength: 0,
  };
}

/** Parses a query into a fresh result. `len` lets callers parse a prefix of a larger buffer. */
export function parseQuery(buf: Uint8Array, len: number = buf.length): ParseResult {
  const query = emptyQuery();
  const result: ParseResult = { outcome: ParseOutcome.OK, reason: '', query };
  result.outcome = parseInto(buf, len, query, result);
  return result;
}

/** Parses into an existing query object (the pipeline's, to save an allocation); `r.reason` says why on failure. */
export function parseInto(buf: Uint8Array, end: number, q: ParsedQuery, r: { reason: string }): ParseOutcome {
  if (end < HEADER_LENGTH) return reject(r, ParseOutcome.DROP, 'shorter than a DNS header');
  q.id = (buf[0] << 8) | buf[1];
  q.flags = (buf[2] << 8) | buf[3];
  // A response arriving on a server port is never answered: answering would let anyone
  // bounce traffic off us, and two servers could loop.
  if (q.flags & Flag.QR) return reject(r, ParseOutcome.DROP, 'QR bit set on a query');
  q.opcode = (q.flags >> 11) & 0xf;
  if (q.opcode !== Opcode.QUERY) return reject(r, ParseOutcome.NOTIMP, `unsupported opcode ${q.opcode}`);
  const qdcount = (buf[4] << 8) | buf[5];
  const ancount = (buf[6] << 8) | buf[7];
  const nscount = (buf[8] << 8) | buf[9];
  const arcount = (buf[10] << 8) | buf[11];
  if (qdcount !== 1) return reject(r, ParseOutcome.FORMERR, `question count ${qdcount}, expected 1`);

  // The question name must be uncompressed: at offset 12 there is nothing before it to point to.
  let pos = HEADER_LENGTH;
  let nameLength = 1;
  for (;;) {
    if (pos >= end) return reject(r, ParseOutcome.FORMERR, 'question name runs past the end');
    const labelLength = buf[pos];
    if (labelLength === 0) break;
    if (labelLength & 0xc0) {
      return reject(
        r,
        ParseOutcome.FORMERR,
        (labelLength & 0xc0) === 0xc0
          ? 'compression pointer in the question name'
          : 'reserved label type in the question name',
      );
    }
    nameLength += labelLength + 1;
    if (nameLength > 255) return reject(r, ParseOutcome.FORMERR, 'question name longer than 255 bytes');
    pos += labelLength + 1;
  }
  q.qnameEnd = pos + 1;
  if (q.qnameEnd + 4 > end) return reject(r, ParseOutcome.FORMERR, 'question runs past the end');
  q.qtype = (buf[q.qnameEnd] << 8) | buf[q.qnameEnd + 1];
  q.qclass = (buf[q.qnameEnd + 2] << 8) | buf[q.qnameEnd + 3];
  q.questionEnd = q.qnameEnd + 4;

  // The EDNS fields are set only when an OPT record is found: a reused object (a question
  // rewritten by an RPZ redirect) must not carry the last message's.
  q.edns = false;
  q.udpPayload = DEFAULT_UDP_PAYLOAD;
  q.dnssecOk = false;
  q.ednsVersion = 0;
  q.optOffset = -1;
  q.ecsOffset = -1;
  q.ecsLength = 0;
  q.cookieOffset = -1;
  q.cookieLength = 0;
  pos = q.questionEnd;
  const records = ancount + nscount + arcount;
  for (let i = 0; i < records; i++) {
    const recordStart = pos;
    pos = skipName(buf, pos, end);
    if (pos < 0) return reject(r, ParseOutcome.FORMERR, `record ${i + 1}: ${lastNameError}`);
    if (pos + 10 > end)
      return reject(r, ParseOutcome.FORMERR, `record ${i + 1} runs past the end (section counts exceed the body)`);
    const type = (buf[pos] << 8) | buf[pos + 1];
    const rdlength = (buf[pos + 8] << 8) | buf[pos + 9];
    const rdataEnd = pos + 10 + rdlength;
    if (rdataEnd > end) return reject(r, ParseOutcome.FORMERR, `record ${i + 1} data runs past the end`);
    if (type === QType.OPT) {
      if (i < ancount + nscount) return reject(r, ParseOutcome.FORMERR, 'OPT record outside the additional section');
      if (q.edns) return reject(r, ParseOutcome.FORMERR, 'more than one OPT record');
      if (buf[recordStart] !== 0) return reject(r, ParseOutcome.FORMERR, 'OPT record with a non-root owner name');
      q.edns = true;
      q.optOffset = recordStart;
      const payload = (buf[pos + 2] << 8) | buf[pos + 3];
      // RFC 6891 §6.2.5: values below 512 are treated as 512.
      q.udpPayload = payload < DEFAULT_UDP_PAYLOAD ? DEFAULT_UDP_PAYLOAD : payload;
      q.ednsVersion = buf[pos + 5];
      q.dnssecOk = (((buf[pos + 6] << 8) | buf[pos + 7]) & EDNS_DO) !== 0;
      if (!readOptions(buf, pos + 10, rdataEnd, q)) return reject(r, ParseOutcome.FORMERR, 'malformed EDNS option');
    }
    pos = rdataEnd;
  }
  if (pos !== end)
    return reject(
      r,
      ParseOutcome.FORMERR,
      `${end - pos} bytes after the last record (section counts do not match the body)`,
    );
  if (q.edns && q.ednsVersion !== 0) return reject(r, ParseOutcome.BADVERS, `EDNS version ${q.ednsVersion}`);
  return ParseOutcome.OK;
}

/**
 * Checks the option framing and notes where Client Subnet (it changes the answer) and the DNS
 * cookie (the defence stage answers it) are. A cookie of a length RFC 7873 does not allow is
 * noted as well: the defence stage answers it FORMERR when cookies are on (here it would also
 * refuse queries that only pass through, with cookies off).
 */
function readOptions(buf: Uint8Array, pos: number, end: number, q: ParsedQuery): boolean {
  while (pos < end) {
    if (pos + 4 > end) return false;
    const length = 4 + ((buf[pos + 2] << 8) | buf[pos + 3]);
    const code = (buf[pos] << 8) | buf[pos + 1];
    if (code === EDNS_OPTION_ECS) {
      q.ecsOffset = pos;
      q.ecsLength = length;
    } else if (code === EDNS_OPTION_COOKIE) {
      q.cookieOffset = pos;
      q.cookieLength = length;
    }
    pos += length;
  }
  return pos === end;
}

function reject(r: { reason: string }, outcome: ParseOutcome, reason: string): ParseOutcome {
  r.reason = reason;
  return outcome;
}
