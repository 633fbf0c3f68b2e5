/**
 * Queries an upstream chooses to ignore (unbound drops queries for a `deny` zone) time out,
 * but must not get the upstream marked down: clients would otherwise take the upstreams away
 * from everyone with a handful of such queries. An upstream that answers nothing at all is
 * still marked down.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { buildProbe } from '../../src/upstream/health-checker.js';
import { UpstreamPool } from '../../src/upstream/upstream-pool.js';
import { startDnsward } from '../helpers/dnsward.js';
import { encodeQuery, header, labels } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';
import { resolveThrough } from '../helpers/upstream-pool.js';

const resolve = async (pool: UpstreamPool, name: string) => (await resolveThrough(pool, name)).error;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A query of class ANY (255) for `name`. */
function classAny(name: string, id: number): Buffer {
  return Buffer.concat([header(id, 0x0100, 1, 0, 0, 0), labels(...name.split('.')), Buffer.from([0, 1, 0, 255])]);
}

/** Sends the datagrams together; resolves with the rcodes once `expect` answers came or `waitMs` passed. */
async function exchange(port: number, messages: Buffer[], expect: number, waitMs: number): Promise<number[]> {
  const socket = dgram.createSocket('udp4');
  const rcodes: number[] = [];
  socket.on('message', (msg) => rcodes.push(msg[3] & 0xf));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  for (const m of messages) socket.send(m, port, '127.0.0.1');
  const deadline = Date.now() + waitMs;
  while (rcodes.length < expect && Date.now() < deadline) await sleep(20);
  socket.close();
  return rcodes;
}

describe('upstream health and queries the upstream ignores', () => {
  const upstreams: UnboundServer[] = [];
  const options = {
    zones: ['ok.test'],
    records: ['www.ok.test. 300 IN A 192.0.2.1'],
    extra: ['local-zone: "drop.test." deny'],
  };
  before(async () => {
    upstreams.push(await UnboundServer.start(options), await UnboundServer.start(options));
  });
  after(async () => {
    for (const u of upstreams) await u.stop();
  });

  it('a burst of ignored and class ANY queries leaves both upstreams up, and the first one answers next', async () => {
    const dnsward = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
guard: { mode: off }
shutdown: { drainTimeout: 100 }
upstreams:
  policy: failover
  servers: ["127.0.0.1:${upstreams[0].port}", "127.0.0.1:${upstreams[1].port}"]
  timeout: 300
  attempts: 2
  maxFailures: 3
  healthCheck: { interval: 0, timeout: 500 }
`);
    try {
      const burst = [
        ...Array.from({ length: 5 }, (_, i) => encodeQuery(`x${i}.drop.test`, 'A', { id: i })),
        ...Array.from({ length: 5 }, (_, i) => classAny(`y${i}.ok.test`, 100 + i)),
      ];
      const rcodes = await exchange(dnsward.port, burst, burst.length, 5000);
      assert.equal(rcodes.length, burst.length, `answers: ${rcodes}`);
      await sleep(700); // the probe that settles it (500 ms timeout) has come back
      const snap = dnsward.server.snapshot().upstreams;
      assert.deepEqual(
        snap.map((u) => u.healthy),
        [true, true],
        JSON.stringify(snap),
      );
      // The five deny-zone queries are ignored; this unbound answers class ANY (the one the attack
      // ran against dropped it), so the class ANY queries only show they do no harm either way.
      assert.ok(snap[0].timeouts >= 5, `the ignored queries timed out: ${JSON.stringify(snap)}`);
      const answersBefore = snap.map((u) => u.answers);
      assert.deepEqual(await exchange(dnsward.port, [encodeQuery('www.ok.test', 'A')], 1, 3000), [0]);
      const answersAfter = dnsward.server.snapshot().upstreams.map((u) => u.answers);
      assert.deepEqual(
        [answersAfter[0] - answersBefore[0], answersAfter[1] - answersBefore[1]],
        [1, 0],
        'answered by the first upstream',
      );
    } finally {
      await dnsward.stop();
    }
  });

  it('timeouts while the upstream answers other queries are not held against it', async () => {
    // No probe here: the answers to the other queries alone show the upstream alive.
    const pool = new UpstreamPool(
      {
        name: 'test',
        policy: 'failover',
        timeoutMs: 300,
        attempts: 1,
        upstreams: [
          {
            address: { host: '127.0.0.1', port: upstreams[0].port, family: 4 },
            protocol: 'udp',
            sockets: 1,
            rotateSocketsAfter: 1000,
            tcpIdleMs: 1000,
            maxFailures: 2,
            native: null,
          },
        ],
      },
      () => {},
    );
    try {
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => [resolve(pool, `d${i}.drop.test`), resolve(pool, `www.ok.test`)]).flat(),
      );
      assert.deepEqual(
        results.map((e) => e === null),
        [false, true, false, true, false, true, false, true],
      );
      const u = pool.upstreams[0];
      assert.equal(u.healthy, true);
      assert.equal(u.stats.timeouts, 4);
      assert.equal(u.stats.timeoutsWhileAnswering, 4);
    } finally {
      pool.close();
    }
  });

  it('an upstream that answers nothing, not even the probe, is still marked down', async () => {
    const sink = dgram.createSocket('udp4');
    sink.on('message', () => {});
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
    const changes: boolean[] = [];
    const pool = new UpstreamPool(
      {
        name: 'test',
        policy: 'failover',
        timeoutMs: 200,
        attempts: 1,
        upstreams: [
          {
            address: { host: '127.0.0.1', port: sink.address().port, family: 4 },
            protocol: 'udp',
            sockets: 1,
            rotateSocketsAfter: 1000,
            tcpIdleMs: 1000,
            maxFailures: 2,
            native: null,
            probe: { wire: buildProbe('.', 2), timeoutMs: 200 },
          },
        ],
      },
      (u) => changes.push(u.healthy),
    );
    const timer = setInterval(() => pool.sweep(performance.now()), 20);
    try {
      await Promise.all([resolve(pool, 'a.example'), resolve(pool, 'b.example')]);
      for (let i = 0; i < 50 && changes.length === 0; i++) await sleep(20);
      assert.deepEqual(changes, [false]);
    } finally {
      clearInterval(timer);
      pool.close();
      sink.close();
    }
  });
});
