/** The COOKIE option on the wire: taken off a query (other options and offsets kept right), put on an answer in place of any other. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { findOpt, withCookie, withoutAnswerCookie, withoutCookie } from '../../src/defence/cookie-option.js';
import { parseQuery } from '../../src/dns/query-parser.js';

type Option = {
  code: number;
  data?: Buffer;
  family?: number;
  sourcePrefixLength?: number;
  scopePrefixLength?: number;
  ip?: string;
};
const optOf = (p: dnsPacket.Packet) => p.additionals?.find((r) => r.type === 'OPT') as unknown as { options: Option[] };

function message(type: 'query' | 'response', options: Option[]): Buffer {
  return dnsPacket.encode({
    type,
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'www.example.test', class: 'IN' }],
    answers: type === 'response' ? [{ type: 'A', name: 'www.example.test', ttl: 60, data: '192.0.2.1' }] : [],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as unknown as dnsPacket.Answer],
  });
}

const ECS: Option = { code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '198.51.100.0' };

describe('COOKIE option', () => {
  it('is taken off a query before an ECS option, and the ECS offset follows', () => {
    const request = message('query', [{ code: 10, data: Buffer.alloc(8, 0xab) }, ECS]);
    const q = parseQuery(request).query;
    assert.ok(q.cookieOffset > 0 && q.ecsOffset > q.cookieOffset);
    const stripped = withoutCookie(request, q);
    assert.equal(stripped.length, request.length - 12);
    const again = parseQuery(stripped).query;
    assert.equal(again.cookieOffset, -1);
    assert.equal(q.ecsOffset, again.ecsOffset, 'the moved ECS offset is where the ECS option now is');
    assert.deepEqual(
      optOf(dnsPacket.decode(stripped)).options.map((o) => o.code),
      [8],
    );
  });

  it("is put on an answer in place of the upstream's, other options kept", () => {
    const answer = message('response', [
      ECS,
      { code: 10, data: Buffer.alloc(24, 0xcc) },
      { code: 12, data: Buffer.alloc(4) },
    ]);
    const server = Buffer.alloc(16, 0x11);
    const out = withCookie(answer, Buffer.alloc(8, 0xab), 0, server);
    const p = dnsPacket.decode(out);
    assert.equal(p.answers?.length, 1);
    const options = optOf(p).options;
    assert.deepEqual(
      options.map((o) => o.code),
      [8, 12, 10],
    );
    assert.deepEqual(options[2].data, Buffer.concat([Buffer.alloc(8, 0xab), server]));
  });

  it('is taken off an answer for a client that sent none', () => {
    const answer = message('response', [{ code: 10, data: Buffer.alloc(24, 0xcc) }]);
    const out = withoutAnswerCookie(answer, findOpt(answer));
    assert.deepEqual(optOf(dnsPacket.decode(out)).options, []);
    const plain = message('response', []);
    assert.equal(withoutAnswerCookie(plain, findOpt(plain)), plain, 'nothing to take off: the same buffer');
    assert.equal(
      findOpt(Buffer.from(plain.subarray(0, plain.length - 11).toString('binary'), 'binary')),
      -1,
      'a cut message has no OPT',
    );
  });
});
