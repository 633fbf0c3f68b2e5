/** The event rate limiter: per-client and total buckets, the held-back count, the client cap. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventRateLimiter } from '../../src/events/event-rate-limiter.js';

describe('event rate limiter', () => {
  it('lets a client raise its burst, holds the rest back, and reports them with its next event', () => {
    const l = new EventRateLimiter({ rate: 10, burst: 5, totalRate: 1000, totalBurst: 1000, maxClients: 100 });
    const t = 1_000_000;
    for (let i = 0; i < 5; i++) assert.equal(l.take('10.0.0.1', t), 0);
    assert.equal(l.take('10.0.0.1', t), -1);
    assert.equal(l.take('10.0.0.1', t), -1);
    assert.equal(l.take('10.0.0.2', t), 0, 'another client has its own bucket');
    assert.equal(l.take('10.0.0.1', t + 100), 2, 'one token after 100 ms at 10/s, and two held back');
    assert.equal(l.held, 2);
  });

  it('caps all clients together', () => {
    const l = new EventRateLimiter({ rate: 100, burst: 100, totalRate: 1, totalBurst: 3, maxClients: 100 });
    const results = ['a', 'b', 'c', 'd', 'e'].map((c) => l.take(c, 0));
    assert.deepEqual(results, [0, 0, 0, -1, -1]);
  });

  it('forgets the least recently seen client beyond its cap', () => {
    const l = new EventRateLimiter({ rate: 1, burst: 1, totalRate: 1000, totalBurst: 1000, maxClients: 2 });
    assert.equal(l.take('a', 0), 0);
    assert.equal(l.take('a', 0), -1);
    l.take('b', 0);
    l.take('c', 0); // 'a' is forgotten, with its held-back count
    assert.equal(l.take('a', 0), 0, 'a fresh bucket');
  });
});
