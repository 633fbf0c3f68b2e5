import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { nameToString, skipName } from '../../src/dns/name.js';
import { ParseOutcome, parseInto, parseQuery } from '../../src/dns/query-parser.js';
import { A_IN, encodeQuery, header, labels } from '../helpers/packets.js';

describe('parseQuery: well-formed queries', () => {
  it('reads header, question and EDNS fields', () => {
    const buf = encodeQuery('WwW.Example.COM', 'AAAA', {
      id: 4242,
      edns: true,
      udpPayload: 4096,
      dnssecOk: true,
      cd: true,
    });
    const r = parseQuery(buf);
    assert.equal(r.outcome, ParseOutcome.OK, r.reason);
    assert.equal(r.query.id, 4242);
    assert.equal(r.query.qtype, 28);
    assert.equal(r.query.qclass, 1);
    assert.equal(r.query.edns, true);
    assert.equal(r.query.udpPayload, 4096);
    assert.equal(r.query.dnssecOk, true);
    assert.equal(nameToString(buf, 12), 'WwW.Example.COM');
    assert.equal(r.query.questionEnd, buf.length - 11);
  });

  it('treats an advertised payload below 512 as 512 (RFC 6891 6.2.5)', () => {
    const r = parseQuery(encodeQuery('a.example', 'A', { edns: true, udpPayload: 100 }));
    assert.equal(r.query.udpPayload, 512);
  });

  it('parses into a reused object as into a fresh one: no EDNS state carried over', () => {
    const q = parseQuery(encodeQuery('a.example', 'A', { edns: true, udpPayload: 4096, dnssecOk: true })).query;
    const r = { reason: '' };
    const second = encodeQuery('b.example', 'A', { edns: true, udpPayload: 1232 });
    assert.equal(parseInto(second, second.length, q, r), ParseOutcome.OK, r.reason);
    assert.equal(q.udpPayload, 1232);
    assert.equal(q.dnssecOk, false);
    const plain = encodeQuery('c.example');
    assert.equal(parseInto(plain, plain.length, q, r), ParseOutcome.OK, r.reason);
    assert.deepEqual(
      { edns: q.edns, udpPayload: q.udpPayload, optOffset: q.optOffset },
      { edns: false, udpPayload: 512, optOffset: -1 },
    );
  });

  it('defaults to 512 bytes without EDNS', () => {
    const r = parseQuery(encodeQuery('a.example'));
    assert.equal(r.query.edns, false);
    assert.equal(r.query.udpPayload, 512);
  });
});

describe('parseQuery: malformed and adversarial packets', () => {
  const q = (name: Buffer) => Buffer.concat([header(1, 0x0100, 1, 0, 0, 0), name, A_IN]);

  it('drops a message shorter than a header', () => {
    assert.equal(parseQuery(Buffer.from([1, 2, 3])).outcome, ParseOutcome.DROP);
  });
  it('drops responses (QR=1) instead of answering them', () => {
    assert.equal(
      parseQuery(Buffer.concat([header(1, 0x8100, 1, 0, 0, 0), labels('a'), A_IN])).outcome,
      ParseOutcome.DROP,
    );
  });
  it('answers unsupported opcodes with NOTIMP', () => {
    const notify = Buffer.concat([header(1, 4 << 11, 1, 0, 0, 0), labels('a'), A_IN]);
    assert.equal(parseQuery(notify).outcome, ParseOutcome.NOTIMP);
  });
  it('rejects a question count other than one', () => {
    assert.equal(parseQuery(header(1, 0, 0, 0, 0, 0)).outcome, ParseOutcome.FORMERR);
    const two = Buffer.concat([header(1, 0, 2, 0, 0, 0), labels('a'), A_IN, labels('b'), A_IN]);
    assert.equal(parseQuery(two).outcome, ParseOutcome.FORMERR);
  });
  it('rejects a label over 63 bytes', () => {
    const r = parseQuery(q(labels('x'.repeat(64))));
    assert.equal(r.outcome, ParseOutcome.FORMERR);
  });
  it('accepts a 63-byte label', () => {
    assert.equal(parseQuery(q(labels('x'.repeat(63), 'example'))).outcome, ParseOutcome.OK);
  });
  it('rejects a name over 255 bytes', () => {
    const r = parseQuery(q(labels(...Array(5).fill('y'.repeat(63)))));
    assert.equal(r.outcome, ParseOutcome.FORMERR);
    assert.match(r.reason, /255/);
  });
  it('rejects a truncated question', () => {
    const full = q(labels('example', 'com'));
    for (let cut = 13; cut < full.length; cut++) {
      assert.equal(parseQuery(full.subarray(0, cut)).outcome, ParseOutcome.FORMERR, `cut at ${cut}`);
    }
  });
  it('rejects a compression pointer in the question', () => {
    const r = parseQuery(q(Buffer.from([0xc0, 12])));
    assert.equal(r.outcome, ParseOutcome.FORMERR);
  });
  it('rejects a compression-pointer loop in a record name', () => {
    const question = Buffer.concat([labels('a'), A_IN]);
    const loopAt = 12 + question.length;
    const rr = Buffer.concat([
      Buffer.from([0xc0 | (loopAt >> 8), loopAt & 0xff]),
      Buffer.from([0, 1, 0, 1, 0, 0, 0, 0, 0, 0]),
    ]);
    const r = parseQuery(Buffer.concat([header(1, 0, 1, 0, 0, 1), question, rr]));
    assert.equal(r.outcome, ParseOutcome.FORMERR);
    assert.match(r.reason, /pointer/);
  });
  it('rejects section counts larger than the body', () => {
    assert.equal(
      parseQuery(Buffer.concat([header(1, 0, 1, 2, 0, 0), labels('a'), A_IN])).outcome,
      ParseOutcome.FORMERR,
    );
  });
  it('rejects bytes after the last record', () => {
    const r = parseQuery(Buffer.concat([header(1, 0, 1, 0, 0, 0), labels('a'), A_IN, Buffer.from([0, 0, 0])]));
    assert.equal(r.outcome, ParseOutcome.FORMERR);
  });
  it('rejects two OPT records', () => {
    const opt = Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]);
    const r = parseQuery(Buffer.concat([header(1, 0, 1, 0, 0, 2), labels('a'), A_IN, opt, opt]));
    assert.equal(r.outcome, ParseOutcome.FORMERR);
  });
  it('answers EDNS version 1 with BADVERS', () => {
    const opt = Buffer.from([0, 0, 41, 4, 0, 0, 1, 0, 0, 0, 0]);
    assert.equal(
      parseQuery(Buffer.concat([header(1, 0, 1, 0, 0, 1), labels('a'), A_IN, opt])).outcome,
      ParseOutcome.BADVERS,
    );
  });
  it('rejects an EDNS option that overruns the OPT record', () => {
    const opt = Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 4, 0, 10, 0, 9]);
    assert.equal(
      parseQuery(Buffer.concat([header(1, 0, 1, 0, 0, 1), labels('a'), A_IN, opt])).outcome,
      ParseOutcome.FORMERR,
    );
  });
});

function unescapeName(name: string): string {
  return name.replace(/\\(\d{3}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(Number(e)) : e));
}

/**
 * A copy whose records dns-packet reads as opaque bytes: the parser checks record framing,
 * not record data, so a mutation that turns the OPT record into an MX with no data is a
 * well-framed message it accepts, while dns-packet throws decoding the MX.
 */
function withOpaqueRecordData(message: Buffer, questionEnd: number): Buffer {
  const copy = Buffer.from(message);
  const PRIVATE_TYPE = 0xff00;
  const LOCAL_OPTION = 65001;
  const records = copy.readUInt16BE(6) + copy.readUInt16BE(8) + copy.readUInt16BE(10);
  let pos = questionEnd;
  for (let i = 0; i < records; i++) {
    pos = skipName(copy, pos, copy.length);
    assert.ok(pos > 0, 'the parser accepted a message whose record names do not end');
    const rdataEnd = pos + 10 + copy.readUInt16BE(pos + 8);
    if (copy.readUInt16BE(pos) === 41) {
      for (let option = pos + 10; option + 4 <= rdataEnd; option += 4 + copy.readUInt16BE(option + 2)) {
        copy.writeUInt16BE(LOCAL_OPTION, option);
      }
    } else {
      copy.writeUInt16BE(PRIVATE_TYPE, pos);
    }
    pos = rdataEnd;
  }
  return copy;
}

const labelArb = fc.string({
  minLength: 1,
  maxLength: 20,
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'),
});
const nameArb = fc.array(labelArb, { minLength: 1, maxLength: 6 }).map((l) => l.join('.'));
const typeArb = fc.constantFrom<dnsPacket.RecordType>(
  'A',
  'AAAA',
  'TXT',
  'MX',
  'NS',
  'NULL',
  'PTR',
  'SRV',
  'CNAME',
  'DS',
);

describe('parseQuery agrees with dns-packet (property)', () => {
  it('on random well-formed queries', () => {
    fc.assert(
      fc.property(
        nameArb,
        typeArb,
        fc.integer({ min: 0, max: 0xffff }),
        fc.boolean(),
        fc.integer({ min: 512, max: 65535 }),
        fc.boolean(),
        (name, type, id, edns, udpPayload, dnssecOk) => {
          const buf = encodeQuery(name, type, { id, edns, udpPayload, dnssecOk });
          const ours = parseQuery(buf);
          const theirs = dnsPacket.decode(buf);
          assert.equal(ours.outcome, ParseOutcome.OK, ours.reason);
          assert.equal(ours.query.id, theirs.id);
          assert.equal(nameToString(buf, 12), theirs.questions![0].name);
          assert.equal(ours.query.qtype, buf.readUInt16BE(ours.query.qnameEnd));
          assert.equal(ours.query.edns, edns);
          if (edns) {
            const opt = theirs.additionals!.find((a) => a.type === 'OPT') as unknown as {
              udpPayloadSize: number;
              flags: number;
            };
            assert.equal(ours.query.udpPayload, opt.udpPayloadSize);
            assert.equal(ours.query.dnssecOk, (opt.flags & dnsPacket.DNSSEC_OK) !== 0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated bytes, and what it accepts dns-packet frames alike, with the same question', () => {
    fc.assert(
      fc.property(
        nameArb,
        typeArb,
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(64),
        (name, type, edns, mutations, cut) => {
          const buf = Buffer.from(encodeQuery(name, type, { edns }));
          for (const [at, value] of mutations) buf[at % buf.length] = value;
          const sliced = buf.subarray(0, Math.max(0, buf.length - cut));
          const ours = parseQuery(sliced);
          if (ours.outcome !== ParseOutcome.OK) return;
          const theirs = dnsPacket.decode(withOpaqueRecordData(sliced, ours.query.questionEnd));
          assert.equal(theirs.questions!.length, 1);
          const ourName = unescapeName(nameToString(sliced, 12));
          // dns-packet decodes labels as UTF-8, so bytes >= 0x80 cannot be compared as text.
          if ([...ourName].some((c) => c.charCodeAt(0) >= 0x80)) return;
          assert.equal(theirs.questions![0].name, ourName);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
