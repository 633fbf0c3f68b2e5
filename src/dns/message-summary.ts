/**
 * What `dnsward analyze` and Tunnel Guard's live stages need of a DNS message: header, question, and for responses
 * the payload room of TXT, NULL and CNAME answers (where tunnels carry their downstream data).
 * Every name is validated (src/dns/name.ts) before it is read; a message that does not parse
 * returns a reason instead of throwing.
 */
import { nameLabels, skipName } from './name.js';
import { RecordCursor } from './record-cursor.js';
import { HEADER_LENGTH, QType } from './wire.js';

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

const cursor = new RecordCursor();

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
  // A truncated answer section still has its question: what was read stands.
  const c = cursor.start(buf, buf.length, 1);
  while (c.next())
    if (c.type === QType.CNAME || c.type === QType.NULL || c.type === QType.TXT) summary.answerPayload += c.rdlength;
  return summary;
}
