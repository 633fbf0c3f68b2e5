/** The upstream response scanner: a reason string or a scan whose offsets all lie inside the message. */
import { scanResponse } from '../../src/dns/response-scanner.js';
import { dnsInput } from './dns-arbitraries.js';
import { expect, type FuzzTarget, isOffset } from './target.js';

function checkPrefix(buf: Buffer, end: number): void {
  const s = scanResponse(buf, end);
  if (typeof s === 'string') {
    expect(s.length > 0, 'empty reason');
    return;
  }
  expect(typeof s === 'object' && s !== null, `result ${String(s)}`);
  expect(isOffset(s.questionEnd, end), `questionEnd ${s.questionEnd} (end ${end})`);
  for (const o of s.ttlOffsets) expect(isOffset(o, end - 4) && o >= 12, `TTL offset ${o} (end ${end})`);
  expect(s.optOffset === -1 || isOffset(s.optOffset, end - 11), `optOffset ${s.optOffset} (end ${end})`);
  expect(s.minTtl === -1 || (Number.isInteger(s.minTtl) && s.minTtl >= 0), `minTtl ${s.minTtl}`);
  expect(
    s.negativeTtl === -1 || (Number.isInteger(s.negativeTtl) && s.negativeTtl >= 0),
    `negativeTtl ${s.negativeTtl}`,
  );
  expect(Number.isInteger(s.rcode) && s.rcode >= 0 && s.rcode <= 0xfff, `rcode ${s.rcode}`);
}

export const responseScanner: FuzzTarget = {
  name: 'response-scanner',
  maxLength: 4096,
  arbitrary: dnsInput(true),
  check(buf) {
    checkPrefix(buf, buf.length);
    if (buf.length > 12) checkPrefix(buf, buf.length - 1 - (buf[buf.length - 1] % Math.min(16, buf.length - 12)));
  },
};
