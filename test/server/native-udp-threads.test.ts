/**
 * The batched UDP addon in several threads at once (the threaded data plane's I/O threads):
 * each thread's batch state is its own. A batch held open on one thread must not hold back a
 * send on another (with the state shared, that send waited in the other thread's queue until
 * its batch ended, and was then flushed from the wrong thread).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';

const ADDON = fileURLToPath(new URL('../../../build/Release/udp_batch.node', import.meta.url));

// A thread that opens a socket, reports its port, and on each batch it receives holds the batch
// open until the flag is set (or 5 s pass).
const HOLDER = `
const { workerData, parentPort } = require('node:worker_threads');
const native = require(workerData.addon);
const flag = new Int32Array(workerData.flag);
const s = native.open('127.0.0.1', 0, false, 1 << 20, false);
native.start(s.handle, () => {
  Atomics.store(flag, 1, 1);
  Atomics.wait(flag, 0, 0, 5000);
});
parentPort.postMessage({ port: s.port });
parentPort.on('message', () => { native.close(s.handle); parentPort.close(); });
`;

// A thread that sends one datagram to the port it is given, outside any batch of its own.
const SENDER = `
const { workerData, parentPort } = require('node:worker_threads');
const native = require(workerData.addon);
const s = native.open('127.0.0.1', 0, false, 1 << 20, false);
native.start(s.handle, () => {});
parentPort.on('message', (m) => {
  if (m.close) { native.close(s.handle); parentPort.close(); return; }
  const words = new Int32Array(4);
  new Uint8Array(words.buffer).set([127, 0, 0, 1]);
  parentPort.postMessage({ sent: native.send(s.handle, Buffer.from('from the other thread'), m.port, words) });
});
`;

const once = <T>(w: Worker): Promise<T> => new Promise((resolve) => w.once('message', resolve));

describe(
  'batched UDP addon in worker threads',
  { skip: existsSync(ADDON) ? false : 'the native addon was not built' },
  () => {
    it('sends from one thread at once while another thread holds a batch open', async () => {
      const flag = new SharedArrayBuffer(8);
      const flags = new Int32Array(flag);
      const holder = new Worker(HOLDER, { eval: true, workerData: { addon: ADDON, flag } });
      const sender = new Worker(SENDER, { eval: true, workerData: { addon: ADDON } });
      const receiver = dgram.createSocket('udp4');
      await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', r));
      try {
        const { port: holderPort } = await once<{ port: number }>(holder);
        // Start a batch on the holder's thread and wait (bounded) until it is inside it.
        const poke = dgram.createSocket('udp4');
        poke.send(Buffer.from('start a batch'), holderPort, '127.0.0.1');
        for (let i = 0; i < 200 && Atomics.load(flags, 1) === 0; i++) await new Promise((r) => setTimeout(r, 10));
        poke.close();
        assert.equal(Atomics.load(flags, 1), 1, 'the holder thread is inside a batch');

        const arrived = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 2000);
          receiver.once('message', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        sender.postMessage({ port: (receiver.address() as { port: number }).port });
        const { sent } = await once<{ sent: number }>(sender);
        assert.equal(sent, 0, 'send reported no error');
        assert.equal(await arrived, true, 'the datagram left while the other thread was still in its batch');
      } finally {
        Atomics.store(flags, 0, 1);
        Atomics.notify(flags, 0);
        holder.postMessage('close');
        sender.postMessage({ close: true });
        receiver.close();
        await Promise.all([new Promise((r) => holder.once('exit', r)), new Promise((r) => sender.once('exit', r))]);
      }
    });
  },
);

describe(
  'batched UDP addon when a thread ends with sockets open',
  { skip: existsSync(ADDON) ? false : 'the native addon was not built' },
  () => {
    it("closes the thread's sockets itself: terminating the thread, or the process exiting, does not abort Node", async () => {
      // A separate process: the abort (uv_loop_close with open handles) would take the test runner down.
      const script = `
      const { Worker } = require('node:worker_threads');
      const code = "const native = require(require('node:worker_threads').workerData.addon);" +
        "for (let i = 0; i < 3; i++) { const s = native.open('127.0.0.1', 0, false, 1 << 20, false); native.start(s.handle, () => {}); }" +
        "native.open('127.0.0.1', 0, false, 1 << 20, false);" +
        "require('node:worker_threads').parentPort.postMessage('open');";
      const a = new Worker(code, { eval: true, workerData: { addon: ${JSON.stringify(ADDON)} } });
      const b = new Worker(code, { eval: true, workerData: { addon: ${JSON.stringify(ADDON)} } });
      let ready = 0;
      const go = () => { if (++ready < 2) return; a.terminate().then(() => { console.log('terminated'); process.exit(0); }); };
      a.once('message', go); b.once('message', go);
    `;
      const { spawnSync } = await import('node:child_process');
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.stderr.includes('uv_loop_close'), false, r.stderr);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /terminated/);
    });
  },
);
