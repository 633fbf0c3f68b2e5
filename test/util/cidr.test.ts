/** Address ranges in plain JavaScript agree with node:net's BlockList. */
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cidrContains, ipv4Number, parseCidr } from '../../src/util/cidr.js';

describe('CIDR ranges', () => {
  const v4 = fc
    .tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0, 1, 128, 255),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 255 }),
    )
    .map((o) => o.join('.'));
  const v6 = fc
    .tuple(
      fc.constantFrom('2001:db8', 'fe80', '2001:db9'),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 3 }),
    )
    .map(([p, a, b]) => `${p}:${a.toString(16)}::${b}`);

  it('contain exactly the addresses a BlockList subnet contains (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(v4, fc.integer({ min: 0, max: 32 }), fc.array(v4, { minLength: 1, maxLength: 8 })),
          fc.tuple(v6, fc.integer({ min: 0, max: 128 }), fc.array(v6, { minLength: 1, maxLength: 8 })),
        ),
        ([network, bits, addresses]) => {
          const c = parseCidr(`${network}/${bits}`);
          assert.ok(typeof c !== 'string', String(c));
          const family = network.includes(':') ? 'ipv6' : 'ipv4';
          const list = new BlockList();
          list.addSubnet(network, bits, family);
          for (const a of [network, ...addresses])
            assert.equal(cidrContains(c, a), list.check(a, family), `${a} in ${network}/${bits}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads IPv4 numbers without allocating and refuses what is not one', () => {
    assert.equal(ipv4Number('10.1.2.3'), 0x0a010203);
    assert.equal(ipv4Number('255.255.255.255'), 0xffffffff);
    for (const bad of ['10.1.2', '10.1.2.3.4', '10.1.2.256', '10..2.3', 'a.b.c.d', '::1', ''])
      assert.equal(ipv4Number(bad), -1, bad);
  });

  it('says what is wrong with a bad range', () => {
    assert.match(String(parseCidr('10.0.0.0/33')), /bad prefix length/);
    assert.match(String(parseCidr('example.com')), /not an IP address or CIDR/);
    assert.match(String(parseCidr('10.0.0.0/8/1')), /not an IP address or CIDR/);
    const single = parseCidr('192.0.2.7');
    assert.ok(typeof single !== 'string' && single.bits === 32);
    assert.equal(cidrContains(single as never, '192.0.2.7'), true);
    assert.equal(cidrContains(single as never, '192.0.2.8'), false);
    assert.equal(cidrContains(single as never, '::1'), false, 'another family never matches');
  });
});
