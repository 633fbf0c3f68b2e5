import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CountMinSketch } from '../../../src/guard/sketches/count-min.js';
import { HyperLogLog } from '../../../src/guard/sketches/hyperloglog.js';
import { murmur3 } from '../../../src/util/hash.js';

describe('murmur3', () => {
  it('matches the reference vectors', () => {
    assert.equal(murmur3('', 0), 0);
    assert.equal(murmur3('hello', 0), 0x248bfa47);
    assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c), 0x2fa826cd);
  });
});

describe('HyperLogLog (property)', () => {
  it('estimates distinct counts within 5% (3 standard errors at p=12) and ignores repeats', () => {
    fc.assert(fc.property(fc.integer({ min: 1000, max: 60_000 }), fc.integer({ min: 0, max: 1e9 }), (n, salt) => {
      const hll = new HyperLogLog(12);
      for (let i = 0; i < n; i++) {
        const h = murmur3(`${salt}:${i}`, 7);
        hll.add(h);
        if (i % 3 === 0) hll.add(h); // repeats change nothing
      }
      const e = hll.estimate();
      assert.ok(Math.abs(e - n) / n < 0.05, `n=${n} estimate=${e.toFixed(0)}`);
    }), { numRuns: 25, seed: 20261128 }); // probabilistic bound: a fixed seed keeps it deterministic
  });

  it('counts small sets almost exactly (linear counting)', () => {
    const hll = new HyperLogLog(12);
    for (let i = 0; i < 50; i++) hll.add(murmur3(`small${i}`));
    assert.ok(Math.abs(hll.estimate() - 50) <= 2);
  });

  it('merges to the union', () => {
    const a = new HyperLogLog(10);
    const b = new HyperLogLog(10);
    for (let i = 0; i < 5000; i++) a.add(murmur3(`x${i}`));
    for (let i = 2500; i < 7500; i++) b.add(murmur3(`x${i}`));
    a.merge(b);
    assert.ok(Math.abs(a.estimate() - 7500) / 7500 < 0.1);
  });
});

describe('count-min sketch (property)', () => {
  it('never undercounts, and overcounts by at most epsilon x total for nearly all keys', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 20 })), { minLength: 100, maxLength: 3000 }), (updates) => {
      const epsilon = 0.01;
      const cms = CountMinSketch.forError(epsilon, 0.01);
      const truth = new Map<number, number>();
      for (const [key, count] of updates) {
        cms.add(`k${key}`, count);
        truth.set(key, (truth.get(key) ?? 0) + count);
      }
      let over = 0;
      for (const [key, count] of truth) {
        const e = cms.estimate(`k${key}`);
        assert.ok(e >= count, `undercount for k${key}: ${e} < ${count}`);
        if (e - count > epsilon * cms.total) over++;
      }
      assert.ok(over <= Math.max(1, 0.02 * truth.size), `${over} of ${truth.size} keys overcounted beyond epsilon`);
    }), { numRuns: 30, seed: 20261128 });
  });

  it('decays counts', () => {
    const cms = new CountMinSketch(256, 4);
    cms.add('a', 100);
    cms.decay(0.5);
    assert.equal(cms.estimate('a'), 50);
  });
});
