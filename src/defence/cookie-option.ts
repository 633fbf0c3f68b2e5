/**
 * The DNS COOKIE option (RFC 7873) on the wire: taking the client's off a query before it is
 * forwarded, and putting ours on an answer.
 *
 * The client's cookie is between the client and dnsward: forwarded, it would make the upstream
 * answer with the upstream's server cookie, which would reach the client (a cookie it cannot use
 * with us) and the packet cache (which does not key on cookies, so another client would get it).
 * dnsward talks to its upstreams as a resolver of its own and sends them no cookie.
 */
import { type ParsedQuery } from '../dns/query-parser.js';
import { skipName } from '../dns/name.js';
import { EDNS_OPTION_COOKIE, HEADER_LENGTH, QType } from '../dns/wire.js';
import { SERVER_COOKIE_LENGTH } from './server-cookies.js';

/** The whole option of a query that carries a client cookie (8 bytes) and maybe a server cookie (8-32), as RFC 7873 §4 allows. */
export function cookieLengthValid(optionLength: number): boolean {
  const data = optionLength - 4;
  return data === 8 || (data >= 16 && data <= 40);
}

/**
 * A copy of `request` without its COOKIE option (the OPT record's length adjusted, offsets
 * after the option in `query` moved). The cache key was made before, from the question and
 * Client Subnet only, so it still holds.
 */
export function withoutCookie(request: Buffer, query: ParsedQuery): Buffer {
  const at = query.cookieOffset;
  const length = query.cookieLength;
  const out = Buffer.allocUnsafe(request.length - length);
  request.copy(out, 0, 0, at);
  request.copy(out, at, at + length);
  const rdlengthAt = query.optOffset + 9;
  out.writeUInt16BE(out.readUInt16BE(rdlengthAt) - length, rdlengthAt);
  if (query.ecsOffset > at) query.ecsOffset -= length;
  query.cookieOffset = -1;
  query.cookieLength = 0;
  return out;
}

/**
 * `answer` with its OPT record carrying COOKIE = client cookie (8 bytes at `clientAt` in
 * `client`) + our server cookie (16 bytes) instead of any COOKIE it had. An answer without an
 * OPT record (or a malformed one) is returned unchanged: a cookie can only ride in an OPT.
 */
export function withCookie(answer: Buffer, client: Uint8Array, clientAt: number, server: Uint8Array): Buffer {
  const opt = findOpt(answer);
  if (opt < 0) return answer;
  const rdataAt = opt + 11;
  const rdataEnd = rdataAt + answer.readUInt16BE(opt + 9);
  if (rdataEnd > answer.length) return answer;
  // Where an old COOKIE option is, to leave it out.
  let oldAt = -1;
  let oldLength = 0;
  for (let pos = rdataAt; pos + 4 <= rdataEnd;) {
    const length = 4 + answer.readUInt16BE(pos + 2);
    if (answer.readUInt16BE(pos) === EDNS_OPTION_COOKIE) {
      oldAt = pos;
      oldLength = length;
      break;
    }
    pos += length;
  }
  const added = 4 + 8 + SERVER_COOKIE_LENGTH;
  const out = Buffer.allocUnsafe(answer.length - oldLength + added);
  let w = 0;
  if (oldAt < 0) {
    w += answer.copy(out, 0, 0, rdataEnd);
  } else {
    w += answer.copy(out, 0, 0, oldAt);
    w += answer.copy(out, w, oldAt + oldLength, rdataEnd);
  }
  out.writeUInt16BE(EDNS_OPTION_COOKIE, w);
  out.writeUInt16BE(8 + SERVER_COOKIE_LENGTH, w + 2);
  out.set(client.subarray(clientAt, clientAt + 8), w + 4);
  out.set(server.subarray(0, SERVER_COOKIE_LENGTH), w + 12);
  w += added;
  answer.copy(out, w, rdataEnd);
  out.writeUInt16BE(answer.readUInt16BE(opt + 9) - oldLength + added, opt + 9);
  return out;
}

/** Offset of the OPT record (its root owner byte) in a message, -1 when there is none or the message is malformed. */
export function findOpt(msg: Uint8Array): number {
  const end = msg.length;
  if (end < HEADER_LENGTH) return -1;
  const qd = (msg[4] << 8) | msg[5];
  const before = ((msg[6] << 8) | msg[7]) + ((msg[8] << 8) | msg[9]);
  const total = before + ((msg[10] << 8) | msg[11]);
  let pos = HEADER_LENGTH;
  for (let i = 0; i < qd; i++) {
    pos = skipName(msg, pos, end);
    if (pos < 0 || pos + 4 > end) return -1;
    pos += 4;
  }
  for (let i = 0; i < total; i++) {
    const start = pos;
    pos = skipName(msg, pos, end);
    if (pos < 0 || pos + 10 > end) return -1;
    if (i >= before && ((msg[pos] << 8) | msg[pos + 1]) === QType.OPT && pos === start + 1) return start;
    pos += 10 + ((msg[pos + 8] << 8) | msg[pos + 9]);
    if (pos > end) return -1;
  }
  return -1;
}

/**
 * `answer` without a COOKIE option in its OPT record at `opt` (or `answer` itself when it has
 * none): an upstream answer to a client that sent no cookie must not carry the upstream's.
 */
export function withoutAnswerCookie(answer: Buffer, opt: number): Buffer {
  const rdataAt = opt + 11;
  const rdlength = answer.readUInt16BE(opt + 9);
  const rdataEnd = rdataAt + rdlength;
  if (rdataEnd > answer.length) return answer;
  for (let pos = rdataAt; pos + 4 <= rdataEnd;) {
    const length = 4 + answer.readUInt16BE(pos + 2);
    if (answer.readUInt16BE(pos) === EDNS_OPTION_COOKIE) {
      const out = Buffer.allocUnsafe(answer.length - length);
      answer.copy(out, 0, 0, pos);
      answer.copy(out, pos, pos + length);
      out.writeUInt16BE(rdlength - length, opt + 9);
      return out;
    }
    pos += length;
  }
  return answer;
}
