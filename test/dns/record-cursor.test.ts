/** The one record walk: sections, fields, and where and why it stops on a cut or bad message. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { RecordCursor, Section } from '../../src/dns/record-cursor.js';
import { QType } from '../../src/dns/wire.js';

const message = dnsPacket.encode({
  type: 'response',
  id: 7,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'A', name: 'www.example.test' }],
  answers: [
    { type: 'CNAME', name: 'www.example.test', ttl: 300, data: 'edge.cdn.test' },
    { type: 'A', name: 'edge.cdn.test', ttl: 60, data: '192.0.2.1' },
  ],
  authorities: [{ type: 'NS', name: 'example.test', ttl: 3600, data: 'ns.example.test' }],
  additionals: [{ type: 'TXT', name: 'x.example.test', ttl: 5, data: 'hello' }],
});

function walk(buf: Uint8Array, sections?: number) {
  const c = new RecordCursor().start(buf, buf.length, sections);
  const seen: Array<[number, number, number]> = [];
  while (c.next()) seen.push([c.section, c.type, c.ttl]);
  return { seen, error: c.error, c };
}

describe('record cursor', () => {
  it('walks every record with its section, type, TTL and data', () => {
    const { seen, error, c } = walk(message);
    assert.deepEqual(seen, [
      [Section.ANSWER, QType.CNAME, 300],
      [Section.ANSWER, QType.A, 60],
      [Section.AUTHORITY, QType.NS, 3600],
      [Section.ADDITIONAL, QType.TXT, 5],
    ]);
    assert.equal(error, '');
    assert.equal(c.qtype, QType.A);
    const again = new RecordCursor().start(message);
    again.next();
    again.next();
    assert.deepEqual([...message.subarray(again.rdata, again.rdata + again.rdlength)], [192, 0, 2, 1]);
    assert.equal(message.readUInt32BE(again.ttlAt), 60);
  });

  it('walks only the answer section when asked, and reuses itself without leftovers', () => {
    const c = new RecordCursor();
    c.start(message, message.length, 1);
    let n = 0;
    while (c.next()) n++;
    assert.equal(n, 2);
    c.start(message);
    n = 0;
    while (c.next()) n++;
    assert.equal(n, 4);
  });

  it('stops at a record cut short, saying whether its fixed fields or its data ran out', () => {
    assert.deepEqual(walk(message.subarray(0, message.length - 3)).error, 'data');
    const lastRecordStart = message.length - (2 + 10 + 6); // compressed name, fixed fields, TXT "hello"
    assert.equal(walk(message.subarray(0, lastRecordStart + 5)).error, 'header');
    assert.equal(walk(message.subarray(0, message.length - 3)).seen.length, 3);
  });

  it('stops at a bad owner name and at a bad question', () => {
    const loop = Buffer.from(message);
    const firstRecord = new RecordCursor().start(loop).questionEnd;
    loop.writeUInt16BE(0xc000 | firstRecord, firstRecord); // a pointer to itself
    assert.equal(walk(loop).error, 'name');
    const badQuestion = Buffer.from(message.subarray(0, 14));
    assert.equal(new RecordCursor().start(badQuestion).error, 'question-name');
  });
});
