/** `dnsward analyze`'s message reader: a reason string or a summary of the message. */
import { readDnsMessage } from '../../src/dns/message-summary.js';
import { dnsInput } from './dns-arbitraries.js';
import { expect, type FuzzTarget } from './target.js';

export const dnsMessage: FuzzTarget = {
  name: 'dns-message',
  maxLength: 4096,
  arbitrary: dnsInput(true),
  check(buf) {
    const m = readDnsMessage(buf);
    if (typeof m === 'string') {
      expect(m.length > 0, 'empty reason');
      return;
    }
    expect(
      Array.isArray(m.labels) && m.labels.every((l) => typeof l === 'string' && l.length > 0 && l.length <= 63),
      `labels ${JSON.stringify(m.labels)}`,
    );
    expect(m.qtype >= 0 && m.qtype <= 0xffff, `qtype ${m.qtype}`);
    expect(
      Number.isInteger(m.answerPayload) && m.answerPayload >= 0 && m.answerPayload <= buf.length,
      `answerPayload ${m.answerPayload} of ${buf.length} bytes`,
    );
    expect(m.size === buf.length, `size ${m.size} of ${buf.length} bytes`);
  },
};
