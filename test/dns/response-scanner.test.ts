import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { scanResponse, type ScannedResponse } from '../../src/dns/response-scanner.js';

function encodeResponse(p: Partial<dnsPacket.Packet>): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'example.com', class: 'IN' }],
    ...p,
  });
}

function scan(buf: Buffer): ScannedResponse {
  const r = scanResponse(buf);
  if (typeof r === 'string') assert.fail(r);
  return r;
}

describe('scanResponse', () => {
  it('finds every TTL and the smallest one', () => {
    const buf = encodeResponse({
      answers: [
        { type: 'CNAME', name: 'example.com', ttl: 300, data: 'www.example.net' },
        { type: 'A', name: 'www.example.net', ttl: 60, data: '192.0.2.1' },
      ],
      additionals: [
        { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer,
      ],
    });
    const s = scan(buf);
    assert.equal(s.ttlOffsets.length, 2);
    assert.deepEqual(
      s.ttlOffsets.map((o) => buf.readUInt32BE(o)),
      [300, 60],
    );
    assert.equal(s.minTtl, 60);
    assert.ok(s.optOffset > 0);
  });

  it('takes the negative TTL from the SOA: min(TTL, MINIMUM) (RFC 2308)', () => {
    const buf = encodeResponse({
      flags: dnsPacket.RECURSION_DESIRED | 3,
      authorities: [
        {
          type: 'SOA',
          name: 'example.com',
          ttl: 3600,
          data: {
            mname: 'ns.example.com',
            rname: 'h.example.com',
            serial: 1,
            refresh: 2,
            retry: 3,
            expire: 4,
            minimum: 120,
          },
        },
      ],
    });
    const s = scan(buf);
    assert.equal(s.rcode, 3);
    assert.equal(s.negativeTtl, 120);
  });

  it('reports malformed answers instead of throwing', () => {
    const good = encodeResponse({ answers: [{ type: 'A', name: 'example.com', ttl: 5, data: '192.0.2.1' }] });
    for (let cut = 0; cut < good.length; cut++) {
      const r = scanResponse(good.subarray(0, cut));
      assert.equal(typeof r, 'string', `cut ${cut}`);
    }
  });

  it('agrees with dns-packet on record TTLs (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(0x7fffffff), { minLength: 0, maxLength: 8 }), (ttls) => {
        const buf = encodeResponse({
          answers: ttls.map((ttl, i) => ({ type: 'A', name: `n${i}.example.com`, ttl, data: '192.0.2.1' })),
        });
        const s = scan(buf);
        const decoded = dnsPacket.decode(buf);
        assert.deepEqual(
          s.ttlOffsets.map((o) => buf.readUInt32BE(o)),
          decoded.answers!.map((a) => (a as { ttl: number }).ttl),
        );
        assert.equal(s.minTtl, ttls.length ? Math.min(...ttls) : -1);
      }),
      { numRuns: 200 },
    );
  });
});
