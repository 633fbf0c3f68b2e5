/** The hot-path query parser: never throws, one of the outcomes, and on OK every offset inside the parsed prefix. */
import { ParseOutcome, parseQuery } from '../../src/dns/query-parser.js';
import { dnsInput } from './dns-arbitraries.js';
import { expect, type FuzzTarget, isOffset } from './target.js';

const OUTCOMES = new Set<number>(Object.values(ParseOutcome));

function checkPrefix(buf: Buffer, end: number): void {
  const r = parseQuery(buf, end);
  expect(OUTCOMES.has(r.outcome), `outcome ${r.outcome} is not a ParseOutcome`);
  expect(
    typeof r.reason === 'string' && (r.outcome === ParseOutcome.OK) === (r.reason === ''),
    `reason "${r.reason}" for outcome ${r.outcome}`,
  );
  if (r.outcome !== ParseOutcome.OK) return;
  const q = r.query;
  expect(isOffset(q.qnameEnd, end) && q.qnameEnd > 12, `qnameEnd ${q.qnameEnd} outside 13..${end}`);
  expect(
    q.questionEnd === q.qnameEnd + 4 && q.questionEnd <= end,
    `questionEnd ${q.questionEnd} (qnameEnd ${q.qnameEnd}, end ${end})`,
  );
  expect(
    q.edns ? q.optOffset >= q.questionEnd && q.optOffset + 11 <= end : q.optOffset === -1,
    `optOffset ${q.optOffset} (edns ${q.edns}, end ${end})`,
  );
  expect(
    q.ecsOffset === -1
      ? q.ecsLength === 0
      : q.edns && q.ecsOffset > q.optOffset && q.ecsLength >= 4 && q.ecsOffset + q.ecsLength <= end,
    `ECS option at ${q.ecsOffset}+${q.ecsLength} (end ${end})`,
  );
  expect(Number.isInteger(q.udpPayload) && q.udpPayload >= 0 && q.udpPayload <= 0xffff, `udpPayload ${q.udpPayload}`);
  expect(
    q.qtype >= 0 && q.qtype <= 0xffff && q.qclass >= 0 && q.qclass <= 0xffff,
    `qtype ${q.qtype} qclass ${q.qclass}`,
  );
}

export const queryParser: FuzzTarget = {
  name: 'query-parser',
  maxLength: 4096,
  arbitrary: dnsInput(false),
  check(buf) {
    checkPrefix(buf, buf.length);
    // The pipeline parses a prefix of a larger receive buffer: nothing past `end` may be read as the message.
    if (buf.length > 12) checkPrefix(buf, buf.length - 1 - (buf[buf.length - 1] % Math.min(16, buf.length - 12)));
  },
};
