import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TwoGenerationMap } from '../../src/util/two-generation-map.js';

describe('TwoGenerationMap', () => {
  it('keeps what was read during the last generation and drops what was not', () => {
    const m = new TwoGenerationMap<string, number>(4);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3); // young {c}, old {a, b}
    assert.equal(m.get('a'), 1); // a moves to young: {c, a}
    m.set('d', 4); // young full: old {c, a} and young {d}; b is dropped
    assert.equal(m.get('b'), undefined);
    assert.equal(m.get('a'), 1);
    assert.equal(m.evictions, 1);
  });

  it('never holds more than its cap, and never loses an entry touched in the last cap/2 operations (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 })), { maxLength: 300 }),
        (cap, ops) => {
          const m = new TwoGenerationMap<number, number>(cap);
          const lastTouch = new Map<number, number>();
          ops.forEach(([isSet, key], step) => {
            if (isSet) {
              m.set(key, key);
              lastTouch.set(key, step);
            } else {
              const value = m.get(key);
              if (value !== undefined) {
                assert.equal(value, key);
                lastTouch.set(key, step);
              } else if (lastTouch.has(key))
                assert.ok(step - lastTouch.get(key)! > (cap >>> 1) - 1, `key ${key} lost too early`);
            }
            assert.ok(m.size <= cap);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
