/** The 2-byte-length frame reader: any chunking gives the same messages, linear copying, pausing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameReader } from '../../src/net/frame-reader.js';

function framed(messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m]));
}

/** Cuts `stream` at the given offsets (taken modulo its length, sorted). */
function cut(stream: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of [...at, stream.length]) {
    if (c > from) chunks.push(stream.subarray(from, c));
    from = Math.max(from, c);
  }
  return chunks;
}

describe('FrameReader', () => {
  it('gives the same messages however the stream is cut, paused and resumed (property)', () => {
    const message = fc.uint8Array({ minLength: 1, maxLength: 600 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.boolean(), { maxLength: 12 }),
        (messages, cuts, pauseAfter) => {
          const got: Buffer[] = [];
          const reader: FrameReader = new FrameReader(65535, (m) => {
            got.push(m);
            // Pausing inside the callback must hold back the next message even within the same chunk.
            if (pauseAfter[got.length - 1]) reader.pause();
          });
          for (const chunk of cut(framed(messages), cuts)) {
            assert.equal(reader.push(chunk), true);
            // Sometimes a chunk arrives while paused (the socket's read was already under way).
            if (reader.isPaused && chunk.length % 2 === 0) continue;
            for (let i = 0; i < 100 && reader.isPaused; i++) assert.equal(reader.resume(), true);
          }
          for (let i = 0; i < 100 && reader.isPaused; i++) reader.resume();
          assert.deepEqual(got, messages);
          assert.equal(reader.partial, false);
          assert.equal(reader.pendingBytes, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('copies a 65535-byte message sent one byte at a time at most twice per byte, and does not allocate ahead of what arrived', () => {
    const body = Buffer.alloc(65535, 7);
    const stream = framed([body]);
    const got: Buffer[] = [];
    const reader = new FrameReader(65535, (m) => got.push(m));
    for (let i = 0; i < 1000; i++) reader.push(stream.subarray(i, i + 1));
    // 998 bytes of the body have arrived: what is held is what arrived, not the declared 65535.
    assert.equal(reader.pendingBytes, 998);
    assert.equal(reader.partial, true);
    for (let i = 1000; i < stream.length; i++) reader.push(stream.subarray(i, i + 1));
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], body);
    assert.ok(
      reader.bytesCopied <= 2 * body.length,
      `copied ${reader.bytesCopied} bytes for a ${body.length}-byte message`,
    );
  });

  it('holds the rest of a chunk while paused and emits it on resume', () => {
    const messages = Array.from({ length: 5 }, (_, i) => Buffer.from([i, i, i]));
    const got: Buffer[] = [];
    const reader: FrameReader = new FrameReader(65535, (m) => {
      got.push(m);
      reader.pause();
    });
    assert.equal(reader.push(framed(messages)), true);
    assert.equal(got.length, 1, 'one message, then the reader paused inside the same chunk');
    assert.equal(reader.pendingBytes, 4 * 5);
    for (let i = 0; i < 10 && reader.isPaused; i++) reader.resume();
    assert.equal(got.length, 5);
  });

  it('emits no message twice when a handler throws', () => {
    const got: number[] = [];
    const reader = new FrameReader(65535, (m) => {
      got.push(m[0]!);
      if (m[0] === 1) throw new Error('handler failed');
    });
    assert.throws(() => reader.push(framed([Buffer.from([1]), Buffer.from([2])])), /handler failed/);
    assert.equal(reader.push(framed([Buffer.from([3])])), true);
    assert.deepEqual(got, [1, 2, 3]);
  });

  it('rejects a zero-length or oversized frame and stays rejected', () => {
    assert.equal(new FrameReader(65535, () => {}).push(Buffer.from([0, 0, 1])), false);
    const small = new FrameReader(512, () => {});
    assert.equal(small.push(Buffer.from([2, 1])), false);
    assert.equal(small.push(Buffer.from([0, 1, 9])), false);
  });
});
