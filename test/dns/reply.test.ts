import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { parseQuery } from '../../src/dns/query-parser.js';
import { buildRcodeReply, buildTruncatedReply, withExtendedError } from '../../src/dns/reply.js';
import { encodeQuery } from '../helpers/packets.js';

const answer = (withOpt: boolean) => dnsPacket.encode({
  type: 'response', id: 1, flags: 0x8180, questions: [{ type: 'A', name: 'a.example', class: 'IN' }],
  answers: [{ type: 'A', name: 'a.example', ttl: 30, data: '192.0.2.1' }],
  additionals: withOpt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer] : [],
});

describe('replies dnsward writes', () => {
  it('adds an Extended DNS Error to the OPT record', () => {
    const out = dnsPacket.decode(withExtendedError(answer(true), { code: 3, text: 'stale' }));
    const opt = out.additionals!.find((a) => a.type === 'OPT') as unknown as { options: { code: number; data: Buffer }[] };
    assert.equal(opt.options[0].code, 15);
    assert.equal(opt.options[0].data.readUInt16BE(0), 3);
    assert.equal(opt.options[0].data.subarray(2).toString(), 'stale');
    assert.equal(out.answers!.length, 1);
  });

  it('adds no OPT record to an answer for a client without EDNS', () => {
    const plain = answer(false);
    assert.equal(withExtendedError(plain, { code: 3, text: 'stale' }), plain);
  });

  it('keeps the client ID and question in error and truncated replies', () => {
    const request = encodeQuery('MiXeD.example', 'TXT', { id: 777, edns: true });
    const q = parseQuery(request).query;
    for (const reply of [buildRcodeReply(request, q, 2, { withQuestion: true, ede: { code: 22, text: 'x' } }), buildTruncatedReply(answer(true), request, q)]) {
      const d = dnsPacket.decode(reply);
      assert.equal(d.id, 777);
      assert.equal(d.questions![0].name, 'MiXeD.example');
    }
    assert.equal(dnsPacket.decode(buildTruncatedReply(answer(true), request, q)).flag_tc, true);
  });
});
