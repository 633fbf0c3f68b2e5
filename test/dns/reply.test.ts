import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { parseQuery } from '../../src/dns/query-parser.js';
import { buildRcodeReply, buildSinkholeReply, buildTruncatedReply, withExtendedError } from '../../src/dns/reply.js';
import { encodeQuery } from '../helpers/packets.js';

const answer = (withOpt: boolean) =>
  dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: 0x8180,
    questions: [{ type: 'A', name: 'a.example', class: 'IN' }],
    answers: [{ type: 'A', name: 'a.example', ttl: 30, data: '192.0.2.1' }],
    additionals: withOpt
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer]
      : [],
  });

describe('replies dnsward writes', () => {
  it('adds an Extended DNS Error to the OPT record', () => {
    const out = dnsPacket.decode(withExtendedError(answer(true), { code: 3, text: 'stale' }));
    const opt = out.additionals!.find((a) => a.type === 'OPT') as unknown as {
      options: { code: number; data: Buffer }[];
    };
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
    for (const reply of [
      buildRcodeReply(request, q, 2, { withQuestion: true, ede: { code: 22, text: 'x' } }),
      buildTruncatedReply(answer(true), request, q),
    ]) {
      const d = dnsPacket.decode(reply);
      assert.equal(d.id, 777);
      assert.equal(d.questions![0].name, 'MiXeD.example');
    }
    assert.equal(dnsPacket.decode(buildTruncatedReply(answer(true), request, q)).flag_tc, true);
  });
});

describe('sinkhole replies (Tunnel Guard blocks)', () => {
  const v4 = Uint8Array.from([192, 0, 2, 99]);
  const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 0x99]);

  it('answers A and AAAA with the sinkhole address and other types with NODATA, with the EDE', () => {
    for (const [type, expected] of [
      ['A', '192.0.2.99'],
      ['AAAA', '2001:db8::99'],
      ['TXT', undefined],
    ] as const) {
      const request = encodeQuery('Exfil.Example.com', type, { id: 4242, edns: true });
      const reply = dnsPacket.decode(
        buildSinkholeReply(request, parseQuery(request).query, v4, v6, {
          code: 15,
          text: 'Tunnel Guard: test [incident TG-00000001]',
        }),
      ) as unknown as dnsPacket.Packet & { rcode: string; answers: Array<{ data: unknown; ttl: number }> };
      assert.equal(reply.id, 4242);
      assert.equal(reply.rcode, 'NOERROR');
      assert.equal(reply.questions![0].name, 'Exfil.Example.com', 'the question keeps its case');
      if (expected === undefined) assert.equal(reply.answers!.length, 0);
      else {
        assert.equal(reply.answers!.length, 1);
        assert.equal(reply.answers![0].data, expected);
        assert.equal(reply.answers![0].ttl, 60);
      }
      const opt = reply.additionals!.find((r) => r.type === 'OPT') as unknown as {
        options: Array<{ code: number; data: Buffer }>;
      };
      const ede = opt.options.find((o) => o.code === 15)!;
      assert.equal(ede.data.readUInt16BE(0), 15);
      assert.equal(ede.data.subarray(2).toString(), 'Tunnel Guard: test [incident TG-00000001]');
    }
  });

  it('omits the OPT record for a client that sent no EDNS', () => {
    const request = encodeQuery('exfil.example.com', 'A', { edns: false });
    const reply = dnsPacket.decode(
      buildSinkholeReply(request, parseQuery(request).query, v4, v6, { code: 15, text: 'x' }),
    ) as unknown as dnsPacket.Packet & { answers: Array<{ data: unknown }> };
    assert.equal(reply.additionals!.length, 0);
    assert.equal(reply.answers![0].data, '192.0.2.99');
  });
});
