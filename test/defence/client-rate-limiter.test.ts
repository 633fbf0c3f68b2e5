/** Per-client token buckets, on an injected clock (milliseconds): no sleeping, no timing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientRateLimiter, type ClientRateLimits } from '../../src/defence/client-rate-limiter.js';

const LIMITS: ClientRateLimits = { rate: 10, burst: 5, ipv4Prefix: 32, ipv6Prefix: 64, exempt: [], maxTracked: 1000 };

/** How many of `n` queries from `address` at time `now` are let through. */
function allowed(l: ClientRateLimiter, address: string, n: number, now: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (l.allow(address, now)) ok++;
  return ok;
}

describe('ClientRateLimiter', () => {
  it('lets a new client send its burst at once, then nothing until tokens come back', () => {
    const l = new ClientRateLimiter(LIMITS);
    assert.equal(allowed(l, '192.0.2.1', 20, 1000), 5);
    assert.equal(l.allow('192.0.2.1', 1000), false);
  });

  it('refills at the rate, a token at a time, and never past the burst', () => {
    const l = new ClientRateLimiter(LIMITS);
    assert.equal(allowed(l, '192.0.2.1', 5, 0), 5);
    // 10 per second: one token every 100 ms.
    assert.equal(l.allow('192.0.2.1', 50), false, 'half a token is not a token');
    assert.equal(allowed(l, '192.0.2.1', 3, 100), 1);
    assert.equal(allowed(l, '192.0.2.1', 10, 400), 3);
    // A long quiet spell fills the bucket to the burst, no further.
    assert.equal(allowed(l, '192.0.2.1', 50, 3_600_000), 5);
  });

  it('lets a client over its rate through at exactly its rate (limited queries take no token)', () => {
    const l = new ClientRateLimiter({ ...LIMITS, rate: 100, burst: 1 });
    let ok = 0;
    // 1000 queries per second for 10 seconds, one every millisecond.
    for (let t = 0; t < 10_000; t++) if (l.allow('192.0.2.1', t)) ok++;
    assert.equal(ok, 1000);
  });

  it('handles rates below one per second', () => {
    const l = new ClientRateLimiter({ ...LIMITS, rate: 0.5, burst: 1 });
    assert.equal(l.allow('192.0.2.1', 0), true);
    assert.equal(l.allow('192.0.2.1', 1999), false);
    assert.equal(l.allow('192.0.2.1', 2000), true);
  });

  it('gives each IPv4 address its own bucket by default, and one per /24 with ipv4Prefix 24', () => {
    const per32 = new ClientRateLimiter(LIMITS);
    assert.equal(allowed(per32, '198.51.100.1', 9, 0), 5);
    assert.equal(allowed(per32, '198.51.100.2', 9, 0), 5);
    const per24 = new ClientRateLimiter({ ...LIMITS, ipv4Prefix: 24 });
    assert.equal(allowed(per24, '198.51.100.1', 3, 0), 3);
    assert.equal(allowed(per24, '198.51.100.254', 9, 0), 2, 'same /24: shares the bucket');
    assert.equal(allowed(per24, '198.51.101.1', 9, 0), 5, 'next /24: its own');
    // The top bit set: addresses past 2^31 key as correctly as the ones below.
    assert.equal(allowed(per24, '203.0.113.1', 9, 0), 5);
    assert.equal(allowed(per24, '203.0.113.200', 1, 0), 0);
    assert.equal(per24.counters().tracked, 3);
  });

  it('gives each IPv6 /64 one bucket by default, and one per /56 with ipv6Prefix 56, however the address is written', () => {
    const per64 = new ClientRateLimiter(LIMITS);
    assert.equal(allowed(per64, '2001:db8::1', 3, 0), 3);
    assert.equal(allowed(per64, '2001:db8:0:0:ffff:ffff:ffff:ffff', 9, 0), 2, 'same /64, written out');
    assert.equal(allowed(per64, '2001:DB8::abcd', 1, 0), 0, 'same /64, upper case');
    assert.equal(allowed(per64, '2001:db8:0:1::1', 9, 0), 5, 'next /64');
    const per56 = new ClientRateLimiter({ ...LIMITS, ipv6Prefix: 56 });
    assert.equal(allowed(per56, '2001:db8:0:1::1', 3, 0), 3);
    assert.equal(allowed(per56, '2001:db8:0:ff::1', 9, 0), 2, 'same /56');
    assert.equal(allowed(per56, '2001:db8:0:100::1', 9, 0), 5, 'next /56');
    const per60 = new ClientRateLimiter({ ...LIMITS, ipv6Prefix: 60 });
    assert.equal(allowed(per60, '2001:db8:0:10::1', 5, 0), 5);
    assert.equal(allowed(per60, '2001:db8:0:1f::1', 1, 0), 0, 'same /60 (the prefix ends inside a byte)');
    assert.equal(allowed(per60, '2001:db8:0:20::1', 1, 0), 1, 'next /60');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 client it stands for', () => {
    const l = new ClientRateLimiter(LIMITS);
    assert.equal(allowed(l, '192.0.2.7', 3, 0), 3);
    assert.equal(allowed(l, '::ffff:192.0.2.7', 9, 0), 2);
    assert.equal(l.counters().tracked, 1);
  });

  it('never limits exempt addresses and ranges, IPv4 and IPv6, and counts them', () => {
    const l = new ClientRateLimiter({ ...LIMITS, exempt: ['10.0.0.0/8', '192.0.2.9', '2001:db8:aa::/48'] });
    assert.equal(allowed(l, '10.1.2.3', 100, 0), 100);
    assert.equal(allowed(l, '192.0.2.9', 100, 0), 100);
    assert.equal(allowed(l, '::ffff:10.9.9.9', 100, 0), 100, 'a mapped address in an exempt IPv4 range');
    assert.equal(allowed(l, '2001:db8:aa:1::1', 100, 0), 100);
    assert.equal(allowed(l, '192.0.2.10', 100, 0), 5, 'the address next to an exempt one is limited');
    assert.equal(allowed(l, '2001:db8:ab::1', 100, 0), 5);
    assert.equal(l.counters().exempted, 400);
    assert.equal(l.counters().tracked, 2, 'exempt clients take no bucket');
  });

  it('tracks at most maxTracked prefixes, counts what it forgets, and a forgotten prefix starts with a full bucket', () => {
    const l = new ClientRateLimiter({ ...LIMITS, maxTracked: 4 });
    assert.equal(allowed(l, '192.0.2.1', 9, 0), 5);
    for (let i = 0; i < 1000; i++) {
      l.allow(`198.51.${i >> 8}.${i & 0xff}`, 0);
      l.allow(`2001:db8:${i.toString(16)}::1`, 0);
      assert.ok(l.counters().tracked <= 4);
    }
    assert.ok(l.counters().evictions >= 1996, `${l.counters().evictions} evictions`);
    // 192.0.2.1 was forgotten long ago: it is a new client again (eviction is only ever lenient).
    assert.equal(allowed(l, '192.0.2.1', 9, 0), 5);
  });

  it('keeps a client that queries all the time in its empty bucket while many others come and go', () => {
    const l = new ClientRateLimiter({ ...LIMITS, maxTracked: 4 });
    assert.equal(allowed(l, '192.0.2.1', 5, 0), 5);
    for (let i = 0; i < 1000; i++) {
      l.allow(`198.51.${i >> 8}.${i & 0xff}`, 0);
      assert.equal(l.allow('192.0.2.1', 0), false, `limited client let through after ${i} others`);
    }
  });

  it('keeps buckets when only rate or burst change, and starts afresh when the prefix lengths change', () => {
    const l = new ClientRateLimiter(LIMITS);
    assert.equal(allowed(l, '192.0.2.1', 5, 0), 5);
    l.configure({ ...LIMITS, rate: 1, burst: 2 });
    assert.equal(l.allow('192.0.2.1', 0), false, 'still empty after a new rate');
    assert.equal(allowed(l, '192.0.2.1', 9, 10_000), 2, 'refilled to the new burst');
    l.configure({ ...LIMITS, ipv4Prefix: 24 });
    assert.equal(allowed(l, '192.0.2.1', 9, 10_000), 5, 'new prefix lengths: new buckets');
    const before = l.counters().evictions;
    l.configure({ ...LIMITS, ipv4Prefix: 24, exempt: ['192.0.2.0/24'] });
    assert.equal(allowed(l, '192.0.2.1', 9, 10_000), 9, 'a new exempt range applies at once');
    assert.equal(l.counters().evictions, before);
  });

  it('keys a client text that is no address by the text, apart from every address and never exempt', () => {
    const l = new ClientRateLimiter({ ...LIMITS, exempt: ['::/0', '0.0.0.0/0'] });
    assert.equal(allowed(l, 'not-an-address', 9, 0), 5);
    assert.equal(allowed(l, '', 9, 0), 5);
    assert.equal(allowed(l, '2001:db8::1', 9, 0), 9);
  });

  it('refuses limits no bucket can keep', () => {
    assert.throws(() => new ClientRateLimiter({ ...LIMITS, rate: 0 }), RangeError);
    assert.throws(() => new ClientRateLimiter({ ...LIMITS, burst: 0.5 }), RangeError);
    assert.throws(() => new ClientRateLimiter({ ...LIMITS, exempt: ['10.0.0.0/33'] }), /exempt/);
  });
});
