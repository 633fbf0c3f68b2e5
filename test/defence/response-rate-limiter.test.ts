/** Response-rate limiting accounting, on an injected clock: rate, debt over the window, slip, classes, prefixes, exemptions, bounds. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResponseRateLimits, ResponseRateLimiter, RrlVerdict } from '../../src/defence/response-rate-limiter.js';

const LIMITS: ResponseRateLimits = {
  responsesPerSecond: 5,
  window: 15_000,
  slip: 2,
  ipv4Prefix: 24,
  ipv6Prefix: 56,
  exempt: [],
  maxTracked: 1000,
};
const CLASS = 0x1234;

function run(limiter: ResponseRateLimiter, address: string, cls: number, count: number, at: number): RrlVerdict[] {
  return Array.from({ length: count }, () => limiter.check(address, cls, at));
}

describe('response-rate limiter', () => {
  it('sends responsesPerSecond identical answers at once, then drops and slips every slip-th one', () => {
    const limiter = new ResponseRateLimiter(LIMITS);
    const v = run(limiter, '192.0.2.1', CLASS, 12, 0);
    assert.deepEqual(v.slice(0, 5), Array(5).fill(RrlVerdict.SEND));
    assert.deepEqual(v.slice(5), [
      RrlVerdict.DROP,
      RrlVerdict.SLIP,
      RrlVerdict.DROP,
      RrlVerdict.SLIP,
      RrlVerdict.DROP,
      RrlVerdict.SLIP,
      RrlVerdict.DROP,
    ]);
  });

  it('slip 0 always drops, slip 1 always sends TC', () => {
    const drop = new ResponseRateLimiter({ ...LIMITS, slip: 0 });
    assert.deepEqual(run(drop, '192.0.2.1', CLASS, 9, 0).slice(5), Array(4).fill(RrlVerdict.DROP));
    const tc = new ResponseRateLimiter({ ...LIMITS, slip: 1 });
    assert.deepEqual(run(tc, '192.0.2.1', CLASS, 9, 0).slice(5), Array(4).fill(RrlVerdict.SLIP));
  });

  it('refills at the rate, and a flood runs up a debt of at most window seconds that keeps it limited after it stops', () => {
    const limiter = new ResponseRateLimiter({ ...LIMITS, slip: 0 });
    run(limiter, '192.0.2.1', CLASS, 5, 0);
    // A quiet client gets one answer per 200 ms back.
    assert.equal(limiter.check('192.0.2.1', CLASS, 200), RrlVerdict.SEND);
    assert.equal(limiter.check('192.0.2.1', CLASS, 200), RrlVerdict.DROP);
    // 1000 more at once: the balance stops at -75 (5/s × 15 s).
    run(limiter, '192.0.2.1', CLASS, 1000, 200);
    assert.equal(limiter.check('192.0.2.1', CLASS, 10_200), RrlVerdict.DROP, 'still limited 10 s after the flood');
    // From -76 (the floor, less the one just limited) 16 s of refill make 4 and a bit: answered.
    assert.equal(limiter.check('192.0.2.1', CLASS, 26_400), RrlVerdict.SEND);
  });

  it('keeps a bucket per response class and per prefix: /24 for IPv4, /56 for IPv6', () => {
    const limiter = new ResponseRateLimiter(LIMITS);
    run(limiter, '192.0.2.1', CLASS, 5, 0);
    assert.equal(limiter.check('192.0.2.200', CLASS, 0), RrlVerdict.DROP, 'same /24, same bucket');
    assert.equal(limiter.check('192.0.3.1', CLASS, 0), RrlVerdict.SEND, 'another /24');
    assert.equal(limiter.check('192.0.2.1', CLASS + 1, 0), RrlVerdict.SEND, 'another response');
    run(limiter, '2001:db8:0:100::1', CLASS, 5, 0);
    assert.equal(limiter.check('2001:db8:0:1ff::2', CLASS, 0), RrlVerdict.DROP, 'same /56');
    assert.equal(limiter.check('2001:db8:0:200::1', CLASS, 0), RrlVerdict.SEND, 'another /56');
    assert.equal(
      limiter.check('::ffff:192.0.2.9', CLASS, 0),
      RrlVerdict.SLIP,
      'an IPv4-mapped address is its IPv4 client (its second limited answer: slipped)',
    );
  });

  it('never limits an exempt address', () => {
    const limiter = new ResponseRateLimiter({ ...LIMITS, exempt: ['192.0.2.0/24', '2001:db8::/32'] });
    assert.deepEqual(new Set(run(limiter, '192.0.2.1', CLASS, 50, 0)), new Set([RrlVerdict.EXEMPT]));
    assert.deepEqual(new Set(run(limiter, '2001:db8::1', CLASS, 50, 0)), new Set([RrlVerdict.EXEMPT]));
    assert.equal(limiter.counters().tracked, 0);
  });

  it('tracks at most maxTracked buckets, and a forgotten one starts full', () => {
    const limiter = new ResponseRateLimiter({ ...LIMITS, maxTracked: 100 });
    run(limiter, '192.0.2.1', CLASS, 6, 0);
    for (let c = 0; c < 1000; c++) limiter.check('198.51.100.1', c * 7919, 0);
    const { tracked, evictions } = limiter.counters();
    assert.ok(tracked <= 100, `tracked ${tracked}`);
    assert.ok(evictions > 0);
    assert.equal(limiter.check('192.0.2.1', CLASS, 0), RrlVerdict.SEND, 'evicted: lenient');
  });
});
