import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { R, SummaryRing } from '../../src/plane/summary-ring.js';

function write(ring: SummaryRing, qtype: number): number {
  const offset = ring.claim();
  if (offset === -1) return -1;
  ring.view.setUint16(offset + R.QTYPE, qtype, true);
  return ring.commit();
}

describe('the ring of query summaries', () => {
  it('hands records to the reader in order, in batches, and counts what it read', () => {
    const ring = new SummaryRing(SummaryRing.allocate(8));
    for (let i = 0; i < 5; i++) write(ring, 100 + i);
    const seen: number[] = [];
    assert.equal(
      ring.drain((o) => seen.push(ring.view.getUint16(o + R.QTYPE, true)), 3),
      3,
    );
    assert.equal(
      ring.drain((o) => seen.push(ring.view.getUint16(o + R.QTYPE, true)), 10),
      2,
    );
    assert.deepEqual(seen, [100, 101, 102, 103, 104]);
    assert.equal(ring.depth, 0);
  });

  it('drops and counts summaries when full, never overwriting unread ones, and takes more once read', () => {
    const ring = new SummaryRing(SummaryRing.allocate(4));
    for (let i = 0; i < 4; i++) assert.notEqual(write(ring, i), -1);
    assert.equal(write(ring, 99), -1);
    assert.equal(write(ring, 98), -1);
    assert.equal(ring.dropped, 2);
    const seen: number[] = [];
    ring.drain((o) => seen.push(ring.view.getUint16(o + R.QTYPE, true)), 100);
    assert.deepEqual(seen, [0, 1, 2, 3]);
    assert.notEqual(write(ring, 7), -1);
  });

  it('keeps working across many wraps of its slots', () => {
    const ring = new SummaryRing(SummaryRing.allocate(4));
    let read = 0;
    for (let i = 0; i < 1000; i++) {
      const seq = write(ring, i % 65536);
      assert.equal(seq, i);
      assert.equal(ring.isConsumed(seq), false);
      ring.drain((o) => {
        assert.equal(ring.view.getUint16(o + R.QTYPE, true), read % 65536);
        read++;
      }, 2);
      assert.equal(ring.isConsumed(seq), true);
    }
    assert.equal(read, 1000);
  });

  it('refuses a capacity that is not a power of two', () => {
    assert.throws(() => SummaryRing.allocate(1000), /power of two/);
  });
});
