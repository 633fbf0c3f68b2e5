/**
 * Queries waiting on one upstream socket or connection are capped well under the 65,536 IDs:
 * the ones beyond the cap get SERVFAIL at once (or another upstream) and are counted, and the
 * search for a free ID always ends, even with every ID taken.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { parseQuery } from '../../src/dns/query-parser.js';
import { loadNativeUdp } from '../../src/net/native-udp.js';
import { UpstreamPool } from '../../src/upstream/upstream-pool.js';
import { startDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends every name as an A query; collects the answers' rcodes until `expect` came, or for `waitMs`. */
async function queries(port: number, names: string[], expect: number, waitMs: number): Promise<number[]> {
  const socket = dgram.createSocket('udp4');
  const rcodes: number[] = [];
  socket.on('message', (msg) => rcodes.push(msg[3] & 0xf));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  names.forEach((name, i) => socket.send(encodeQuery(name, 'A', { id: i }), port, '127.0.0.1'));
  const deadline = Date.now() + waitMs;
  while (rcodes.length < expect && Date.now() < deadline) await sleep(20);
  await sleep(100); // and no more than that
  socket.close();
  return rcodes;
}

describe('in-flight limit per upstream socket', () => {
  let unbound: UnboundServer;
  let silent: net.Server;
  const accepted: net.Socket[] = [];
  before(async () => {
    unbound = await UnboundServer.start({ zones: ['other.test'], records: ['www.other.test. 300 IN A 192.0.2.9'] });
    // A TCP upstream that accepts, reads, and never answers.
    silent = net.createServer((s) => {
      accepted.push(s);
      s.on('data', () => {});
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const s of accepted) s.destroy();
    silent?.close();
    await unbound?.stop();
  });

  it('finds no free ID in a full map and says so, instead of looping for ever', async () => {
    // In a worker: the old search never returned, and only terminate() stops a loop.
    const code = `
      const { freeIdIn } = await import(${JSON.stringify(new URL('../../src/upstream/exchange.js', import.meta.url).href)});
      const { randomQueryId } = await import(${JSON.stringify(new URL('../../src/util/random-ids.js', import.meta.url).href)});
      const { parentPort } = await import('node:worker_threads');
      const full = new Map();
      for (let id = 0; id < 65536; id++) full.set(id, {});
      const nearlyFull = new Map(full);
      nearlyFull.delete(12345);
      let draws = 0;
      parentPort.postMessage({
        full: freeIdIn(full, () => (draws++, randomQueryId())),
        draws,
        oneFree: freeIdIn(nearlyFull, () => 12345),
        quarterFull: freeIdIn(new Map([...full].slice(0, 16384)), randomQueryId) >= 0,
      });`;
    const worker = new Worker(code, { eval: true, type: 'module' } as never);
    const result = await Promise.race([
      new Promise((r) => worker.once('message', r)),
      sleep(3000).then(() => 'no answer within 3 s'),
    ]);
    await worker.terminate();
    assert.deepEqual(result, { full: -1, draws: 32, oneFree: 12345, quarterFull: true });
  });

  it('answers queries beyond the cap of a silent TCP upstream with SERVFAIL at once, and counts them', async () => {
    const port = (silent.address() as net.AddressInfo).port;
    const dnsward = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
guard: { mode: off }
shutdown: { drainTimeout: 100 }
upstreams:
  servers: [{ address: "127.0.0.1:${port}", protocol: tcp }]
  timeout: 30s
  attempts: 1
  maxInFlightPerSocket: 50
  healthCheck: { interval: 0 }
forwardZones:
  - { zone: other.test, servers: ["127.0.0.1:${unbound.port}"] }
`);
    try {
      const names = Array.from({ length: 80 }, (_, i) => `q${i}.silent.test`);
      // The first 50 wait for the 30 s timeout; the other 30 must be answered now.
      const rcodes = await queries(dnsward.port, names, 30, 3000);
      assert.deepEqual(rcodes, Array(30).fill(2), `rcodes: ${rcodes}`);
      const upstream = dnsward.server.snapshot().upstreams.find((u) => u.pool === 'default')!;
      assert.equal(upstream.inFlightLimited, 30);
      assert.equal(upstream.outstanding, 50);
      assert.equal(upstream.healthy, true, 'a full socket is not a failed upstream');
      // Another zone's upstream still answers.
      assert.deepEqual(await queries(dnsward.port, ['www.other.test'], 1, 3000), [0]);
    } finally {
      await dnsward.stop();
    }
  });

  for (const io of ['native', 'dgram'] as const)
    it(`fills every UDP socket before refusing a query (${io})`, async () => {
      const sink = dgram.createSocket('udp4');
      sink.on('message', () => {}); // never answers
      await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
      const pool = new UpstreamPool(
        {
          name: 'test',
          policy: 'failover',
          timeoutMs: 30_000,
          attempts: 1,
          upstreams: [
            {
              address: { host: '127.0.0.1', port: sink.address().port, family: 4 },
              protocol: 'udp',
              sockets: 3,
              rotateSocketsAfter: 1000,
              tcpIdleMs: 1000,
              maxFailures: 3,
              native: io === 'native' ? loadNativeUdp() : null,
              maxInFlightPerSocket: 4,
            },
          ],
        },
        () => {},
      );
      try {
        const errors: (string | null)[] = [];
        for (let i = 0; i < 20; i++) {
          const request = encodeQuery(`u${i}.example`, 'A');
          pool.resolve(request, parseQuery(request).query, null, (_c, error) => errors.push(error));
        }
        // 3 sockets x 4 in flight wait; the other 8 are refused at once, whichever socket was drawn.
        assert.equal(errors.length, 8);
        assert.ok(
          errors.every((e) => e !== null && e.includes('in-flight limit')),
          String(errors),
        );
        assert.equal(pool.inFlight, 12);
        assert.equal(pool.upstreams[0].inFlightLimited, 8);
      } finally {
        pool.close();
        sink.close();
      }
    });
});
