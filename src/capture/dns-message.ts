/**
 * What `dnsward analyze` needs of a captured DNS message: header, question, and for responses
 * the payload room of TXT, NULL and CNAME answers (where tunnels carry their downstream data).
 * Every name is validated (src/dns/name.ts) before it is read; a message that does not parse
 * returns a reason instead of throwing.
 */
import { nameLabels, skipName } from '../dns/name.js';
import { HEADER_LENGTH } from '../dns/wire.js';

export interface DnsMessageSummary {
  id: number;
  response: boolean;
  rcode: number;
  labels: string[];
  qtype: number;
  /** RDATA bytes of TXT (16), NULL (10) and CNAME (5) answers. */
  answerPayload: number;
  size: number;
}

const PAYLOAD_TYPES = new Set([5, 10, 16]);

export function readDnsMessage(buf: Uint8Array): DnsMessageSummary | string {
  if (buf.length < HEADER_LENGTH) return 'shorter than a DNS header';
  const qdcount = (buf[4] << 8) | buf[5];
  if (qdcount !== 1) return `${qdcount} questions`;
  const nameEnd = skipName(buf, HEADER_LENGTH, buf.length);
  if (nameEnd < 0 || nameEnd + 4 > buf.length) return 'bad question';
  const response = (buf[2] & 0x80) !== 0;
  const summary: DnsMessageSummary = {
    id: (buf[0] << 8) | buf[1],
    response,
    rcode: buf[3] & 0x0f,
    labels: nameLabels(buf, HEADER_LENGTH),
    qtype: (buf[nameEnd] << 8) | buf[nameEnd + 1],
    answerPayload: 0,
    size: buf.length,
  };
  if (!response) return summary;
  let pos = nameEnd + 4;
  const ancount = (buf[6] << 8) | buf[7];
  for (let i = 0; i < ancount; i++) {
    pos = skipName(buf, pos, buf.length);
    if (pos < 0 || pos + 10 > buf.length) return summary; // a truncated answer section still has its question
    const type = (buf[pos] << 8) | buf[pos + 1];
    const rdlength = (buf[pos + 8] << 8) | buf[pos + 9];
    pos += 10 + rdlength;
    if (pos > buf.length) return summary;
    if (PAYLOAD_TYPES.has(type)) summary.answerPayload += rdlength;
  }
  return summary;
}
