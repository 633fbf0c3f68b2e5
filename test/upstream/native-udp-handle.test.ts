/**
 * The batched UDP addon's handles after close: every call on a closed handle, a second close,
 * and values that are not handles at all get an error or nothing, never freed memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadNativeUdp, nativeUdpFailure } from '../../src/net/native-udp.js';

describe('native UDP socket handles', () => {
  const native = loadNativeUdp();
  const EBADF = 9;

  it('closing twice, and using a handle after close, is refused without a crash', async () => {
    assert.ok(native, `the native addon must load here: ${nativeUdpFailure()}`);
    const payload = Buffer.from('x');
    const noAddress = new Int32Array(4);
    // Polled sockets are freed by libuv a loop turn after close; unpolled ones at once.
    for (const started of [true, false]) {
      const handles: unknown[] = Array.from({ length: 50 }, () => native.open('127.0.0.1', 0, false, 0, false).handle);
      for (const h of handles) {
        native.connect(h, '127.0.0.1', 9);
        if (started) native.start(h, () => {});
        native.close(h);
      }
      await new Promise((r) => setImmediate(r));
      // Fresh sockets may now reuse the freed memory; the old handles must still read as closed.
      const fresh: unknown[] = Array.from({ length: 50 }, () => native.open('127.0.0.1', 0, false, 0, false).handle);
      for (const h of handles) {
        native.close(h);
        assert.equal(native.send(h, payload, 0, noAddress), EBADF);
        assert.throws(() => native.connect(h, '127.0.0.1', 9), /closed/);
        assert.throws(() => native.start(h, () => {}), /closed/);
        assert.equal(native.sendErrors(h), 0);
      }
      for (const h of fresh) assert.equal(native.send(h, payload, 9, new Int32Array([0x0100007f, 0, 0, 0])), 0);
      for (const h of fresh) native.close(h);
    }
  });

  it('refuses values that are not its handles, and a second start', () => {
    assert.ok(native);
    for (const bogus of [null, undefined, 0, 'handle', {}, Buffer.alloc(8)]) {
      assert.equal(native.send(bogus, Buffer.from('x'), 0, new Int32Array(4)), EBADF);
      assert.doesNotThrow(() => native.close(bogus));
      assert.equal(native.sendErrors(bogus), 0);
    }
    const h = native.open('127.0.0.1', 0, false, 0, false).handle;
    native.start(h, () => {});
    assert.throws(() => native.start(h, () => {}), /already started/);
    assert.throws(() => native.send(h, Buffer.from('x'), 0, new Int32Array(1)), /Int32Array of 4/);
    native.close(h);
  });
});
