import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginLimiter } from '../../../src/console/auth/login-limiter.js';

describe('failed-login limiter', () => {
  const limits = { perAddress: 5, perUser: 10, windowMs: 60_000 };

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as its IPv4 address', () => {
    const limiter = new LoginLimiter(limits, () => 0);
    // Five guesses, each from another address of one /64 and for another user.
    for (let i = 1; i <= 5; i++) assert.equal(limiter.begin(`2001:db8:1:2::${i.toString(16)}`, `user${i}`), 0);
    assert.ok(limiter.begin('2001:db8:1:2:ffff::9', 'user9') > 0, 'the sixth from the same /64 waits');
    assert.equal(limiter.begin('2001:db8:1:3::1', 'user9'), 0, 'another /64 is another client');
    for (let i = 1; i <= 5; i++) limiter.begin('192.0.2.7', `v4user${i}`);
    assert.ok(limiter.retryAfter('::ffff:192.0.2.7', 'someone') > 0, 'the mapped form is the same client');
  });

  it("keeps a user's failures when a flood from more addresses than it tracks fills its memory", () => {
    const limiter = new LoginLimiter(
      limits,
      () => 0,
      (name) => name === 'admin',
    );
    for (let i = 0; i < 10; i++) limiter.fail(`198.51.100.${i}`, 'admin');
    assert.ok(limiter.retryAfter('203.0.113.1', 'admin') > 0);
    // 60,000 other clients fail once each, each for its own random user name.
    for (let i = 0; i < 60_000; i++) limiter.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `guess-${i}`);
    assert.ok(limiter.retryAfter('203.0.113.1', 'admin') > 0, 'admin is still limited');
    const { clients, users } = limiter.tracked();
    assert.ok(clients <= 50_000, `bounded: ${clients} clients`);
    assert.equal(users, 2, 'admin, and every made-up name as one');
  });

  it('makes room by forgetting the least recently failed, not the whole table', () => {
    const limiter = new LoginLimiter(limits, () => 0);
    for (let i = 0; i < 5; i++) limiter.fail('192.0.2.1', `u${i}`);
    for (let i = 0; i < 49_999; i++) limiter.fail(`10.1.${(i >> 8) & 255}.${i & 255}x`, 'x');
    // 192.0.2.1 failed first, but nothing has yet pushed the table past its bound.
    assert.ok(limiter.retryAfter('192.0.2.1', 'other') > 0);
    limiter.fail('10.9.9.9', 'x');
    assert.equal(limiter.retryAfter('192.0.2.1', 'other'), 0, 'the least recently failed client went first');
  });
});
