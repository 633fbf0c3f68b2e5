import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BoundedLruMap } from '../../src/util/bounded-lru-map.js';

describe('BoundedLruMap', () => {
  it('evicts the least recently used entry at the cap', () => {
    const evicted: string[] = [];
    const m = new BoundedLruMap<string, number>(2, (k) => evicted.push(k));
    m.set('a', 1);
    m.set('b', 2);
    m.get('a');
    m.set('c', 3);
    assert.deepEqual(evicted, ['b']);
    assert.deepEqual([...m.entries()].map(([k]) => k), ['a', 'c']);
  });

  it('never holds more than its cap, and agrees with a model LRU (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 })), { maxLength: 200 }), (cap, ops) => {
      const m = new BoundedLruMap<number, number>(cap);
      const model: number[] = []; // least recent first
      for (const [isSet, key] of ops) {
        const at = model.indexOf(key);
        if (isSet) {
          m.set(key, key);
          if (at >= 0) model.splice(at, 1);
          else if (model.length >= cap) model.shift();
          model.push(key);
        } else {
          assert.equal(m.get(key), at >= 0 ? key : undefined);
          if (at >= 0) model.push(...model.splice(at, 1));
        }
        assert.ok(m.size <= cap);
      }
      assert.deepEqual([...m.entries()].map(([k]) => k), model);
    }), { numRuns: 300 });
  });
});
