/**
 * A UDP upstream socket due for rotation whose successor cannot be opened keeps serving, and
 * rotation resumes once sockets can be opened again (the native addon's open() made to fail
 * as it does with EMFILE).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadNativeUdp, type NativeUdpBatch, nativeUdpFailure } from '../../src/net/native-udp.js';
import { UpstreamPool } from '../../src/upstream/upstream-pool.js';
import { OPEN_RETRY_MS } from '../../src/upstream/udp-transport.js';
import { UnboundServer } from '../helpers/unbound.js';
import { resolveThrough } from '../helpers/upstream-pool.js';

const resolve = async (pool: UpstreamPool, name: string) => (await resolveThrough(pool, name)).error;

describe('UDP socket rotation when no socket can be opened', () => {
  let unbound: UnboundServer;
  before(async () => {
    unbound = await UnboundServer.start({ zones: ['rot.test'], records: [] });
  });
  after(async () => {
    await unbound?.stop();
  });

  it('serves on the old socket, counts the failure, and rotates again later', async () => {
    const real = loadNativeUdp();
    assert.ok(real, `the native addon must load here: ${nativeUdpFailure()}`);
    let failing = false;
    let opened = 0;
    let closed = 0;
    // The addon's functions are not enumerable: each is passed on by name.
    const native: NativeUdpBatch = {
      BATCH: real.BATCH,
      SLOT: real.SLOT,
      META: real.META,
      connect: (...args) => real.connect(...args),
      start: (...args) => real.start(...args),
      send: (...args) => real.send(...args),
      sendErrors: (...args) => real.sendErrors(...args),
      lowerThreadPriority: (by) => real.lowerThreadPriority(by),
      open: (...args) => {
        if (failing) throw new Error('socket: Too many open files');
        opened++;
        return real.open(...args);
      },
      close: (handle) => {
        closed++;
        real.close(handle);
      },
    };
    const pool = new UpstreamPool(
      {
        name: 'test',
        policy: 'failover',
        timeoutMs: 1000,
        attempts: 1,
        upstreams: [
          {
            address: { host: '127.0.0.1', port: unbound.port, family: 4 },
            protocol: 'udp',
            sockets: 1,
            rotateSocketsAfter: 5,
            tcpIdleMs: 1000,
            maxFailures: 3,
            native,
          },
        ],
      },
      () => {},
    );
    try {
      assert.equal(opened, 1);
      failing = true;
      for (let i = 0; i < 20; i++) assert.equal(await resolve(pool, `a${i}.rot.test`), null, `query ${i}`);
      const u = pool.upstreams[0];
      assert.equal(u.socketOpenFailures, 1, 'one try, then none until the retry time');
      assert.equal(closed, 0, 'the only socket was not closed');
      failing = false;
      await new Promise((r) => setTimeout(r, OPEN_RETRY_MS + 50));
      for (let i = 0; i < 3; i++) assert.equal(await resolve(pool, `b${i}.rot.test`), null);
      assert.equal(opened, 2, 'rotated once sockets could be opened again');
      assert.equal(closed, 1, 'and the old socket closed, once');
      assert.equal(u.healthy, true);
    } finally {
      pool.close();
    }
  });
});
