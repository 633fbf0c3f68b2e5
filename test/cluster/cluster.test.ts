/**
 * Two dnsward nodes and one real redis-server (loopback, no persistence), started from config
 * text: node A runs the data plane inline, node B on an I/O thread (the block table path).
 * A Tunnel Guard block and an operator quarantine made on A are answered on B (waits are bounded
 * at 10 s and the time taken is printed; the one-second target is measured by
 * bench/cluster-propagation.ts, not asserted here);
 * an allow and a release on B lift them on A; a hostile message on the channel is dropped and
 * counted; a restarted node loads what was decided while it was away; with Redis killed under
 * dnsperf load both nodes lose no query and go on deciding alone, and when Redis comes back
 * (empty) the decisions made apart converge on both.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { buildRegistry } from '../../src/metrics/prometheus-metrics.js';
import { dig } from '../helpers/dns-client.js';
import { blocked, tunnelUntilBlocked, within } from '../helpers/cluster-probes.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';

const clusterOf = (node: RunningDnsward) => node.server.snapshot().cluster!;

describe('cluster: two nodes deciding as one through Redis', () => {
  let unbound: UnboundServer;
  let redis: RedisServer;
  let a: RunningDnsward;
  let b: RunningDnsward;
  let bDataDir: string;
  const eventsOnB: SecurityEvent[] = [];

  const config = (name: string, threads: number, dataDir?: string) => `listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
threads: ${threads}
${dataDir === undefined ? '' : `dataDir: "${dataDir}"`}
guard: { holdTimeout: 1s }
cluster:
  redis: { host: "${redis.url}" }
  nodeName: ${name}
`;
  const startB = async () => {
    b = await startDnsward(config('b', 1, bDataDir));
    b.server.events.addSink({ name: 'test', write: (events) => void eventsOnB.push(...events) });
  };

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test', 'tunnel.test', 'other.test', 'late.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    redis = await RedisServer.start();
    bDataDir = mkdtempSync(join(tmpdir(), 'dnsward-cluster-b-'));
    a = await startDnsward(config('a', 0));
    await startB();
    assert.ok(
      (await within(5000, () => clusterOf(a).connected && clusterOf(b).connected)) >= 0,
      'both nodes connect to Redis',
    );
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
    await unbound?.stop();
  });

  it('a Tunnel Guard block on A is answered as blocked on B, listed and reported with its node', async () => {
    assert.equal(await blocked(b, 'www.tunnel.test'), false, 'B answers the domain before');
    assert.ok((await tunnelUntilBlocked(a, 'tunnel.test')) >= 0, 'A blocks the tunnel');
    const took = await within(10_000, () => blocked(b, 'www.tunnel.test'));
    assert.ok(took >= 0, 'B answers the domain as blocked');
    console.log(`# B answered the block ${took} ms after A decided it`);
    const listing = b.server.control({ cmd: 'blocks', who: 'test' }) as {
      blocks: Array<{ domain: string; origin: string | null }>;
      cluster: { node: string };
    };
    assert.deepEqual(
      listing.blocks.filter((x) => x.domain === 'tunnel.test').map((x) => x.origin),
      ['a'],
      'B lists the block as decided on A',
    );
    assert.equal(listing.cluster.node, 'b');
    assert.ok(
      (await within(2000, () =>
        eventsOnB.some((e) => e.type === 'domain_blocked' && e.domain === 'tunnel.test' && e.node === 'a'),
      )) >= 0,
      'B reports the block as decided by node a',
    );
    assert.ok(clusterOf(a).published >= 1);
    assert.ok(clusterOf(b).applied >= 1);
    const metrics = await buildRegistry(b.server).metrics();
    assert.match(metrics, /^dnsward_cluster_connected\{node="b"\} 1$/m);
    assert.match(metrics, /^dnsward_cluster_applied_total\{node="b"\} [1-9]/m);
    assert.match(metrics, /^dnsward_cluster_lag_seconds_count\{node="b"\} [1-9]/m);
    assert.match(metrics, /^dnsward_cluster_dropped_total\{node="b",reason="malformed"\} 0$/m);
  });

  it('an operator quarantine on A refuses the client on B; a release on B frees it on A', async () => {
    assert.equal(await blocked(b, 'www.example.test', '127.0.0.77'), false);
    a.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.77', seconds: 600 });
    assert.ok(
      (await within(10_000, () => blocked(b, 'www.example.test', '127.0.0.77'))) >= 0,
      'B quarantines the client',
    );
    assert.equal(await blocked(b, 'www.example.test', '127.0.0.76'), false, 'another client is not quarantined');
    b.server.control({ cmd: 'release', who: 'test', client: '127.0.0.77' });
    assert.ok(
      (await within(10_000, async () => !(await blocked(a, 'www.example.test', '127.0.0.77')))) >= 0,
      'A releases the client',
    );
  });

  it('an operator allow on B lifts the block on A', async () => {
    assert.equal(await blocked(a, 'www.tunnel.test'), true, 'A still blocks the domain');
    b.server.control({ cmd: 'allow', who: 'test', domain: 'tunnel.test', seconds: 3600 });
    assert.ok(
      (await within(10_000, async () => !(await blocked(a, 'www.tunnel.test')))) >= 0,
      'A lets the domain through',
    );
    const listing = a.server.control({ cmd: 'blocks', who: 'test' }) as {
      allows: Array<{ domain?: string; origin: string | null }>;
    };
    assert.deepEqual(
      listing.allows.map((x) => [x.domain, x.origin]),
      [['tunnel.test', 'b']],
    );
  });

  it('drops and counts hostile messages on the channel, without crashing or blocking an allowed domain', async () => {
    const before = clusterOf(b).dropped;
    const publisher = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    await publisher.connect();
    const now = Date.now();
    const block = (fields: object) =>
      JSON.stringify({
        v: 1,
        id: '0b7e7c2e-1111-4222-8333-944455556666',
        kind: 'block',
        origin: 'mallory',
        version: now,
        sentAt: now,
        until: now / 1000 + 600,
        scope: 'domain',
        client: '127.0.0.66',
        incident: 'TG-0000beef',
        ...fields,
      });
    const hostile = [
      'not json',
      '{"v":1}',
      JSON.stringify({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }),
      'x'.repeat(10_000),
      block({ domain: 'com' }), // a public suffix
      block({ domain: 'other.test', until: now / 1000 + 400 * 86_400 }), // far past any block's length
      block({ domain: 'other.test', origin: 'a b' }),
      block({ domain: 'Other.test' }),
      block({ domain: 'tunnel.test' }), // allowed on both nodes
    ];
    for (const m of hostile) await publisher.publish('dnsward:decisions', m);
    publisher.disconnect();
    const after = await (async () => {
      await within(2000, () => clusterOf(b).dropped.allowlisted > before.allowlisted);
      return clusterOf(b).dropped;
    })();
    assert.equal(after.oversize - before.oversize, 1, JSON.stringify(after));
    assert.equal(after.malformed - before.malformed, 6, JSON.stringify(after));
    assert.equal(after.future - before.future, 1, JSON.stringify(after));
    assert.equal(after.allowlisted - before.allowlisted, 1, JSON.stringify(after));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(await blocked(b, 'www.tunnel.test'), false, 'the allowed domain stays allowed');
    assert.equal(await blocked(b, 'www.other.test'), false, 'nothing hostile was applied');
    assert.equal((await dig('127.0.0.1', b.port, ['www.example.test', 'A'])).answers.length, 1, 'B still answers');
  });

  it('a restarted node loads the decisions made while it was away', async () => {
    await b.stop();
    a.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.78', seconds: 600 });
    assert.ok((await tunnelUntilBlocked(a, 'other.test')) >= 0, 'A blocks a second tunnel while B is down');
    await startB();
    assert.ok((await within(5000, () => clusterOf(b).connected && clusterOf(b).syncs > 0)) >= 0, 'B rejoins');
    assert.equal(await blocked(b, 'www.other.test'), true, 'B loaded the block');
    assert.equal(await blocked(b, 'www.example.test', '127.0.0.78'), true, 'B loaded the quarantine');
    assert.equal(await blocked(b, 'www.tunnel.test'), false, 'and the allow');
  });

  it('with Redis killed under dnsperf load both nodes lose no query and decide alone; when it returns empty, they converge', async () => {
    // dnsperf on both nodes (half cache hits, half new names the brain weighs); Redis dies a second in.
    const queries = join(mkdtempSync(join(tmpdir(), 'dnsward-cluster-perf-')), 'queries.txt');
    writeFileSync(
      queries,
      Array.from({ length: 4000 }, (_, i) => (i % 2 ? 'www.example.test A' : `n${i}.example.test A`)).join('\n') + '\n',
    );
    const perf = [a, b].map((node) =>
      promisify(execFile)(
        'dnsperf',
        ['-s', '127.0.0.1', '-p', String(node.port), '-d', queries, '-l', '4', '-Q', '1500', '-t', '3'],
        { timeout: 30_000 },
      ),
    );
    await new Promise((r) => setTimeout(r, 1000));
    await redis.kill();
    for (const { stdout } of await Promise.all(perf)) {
      const sent = Number(/Queries sent:\s+(\d+)/.exec(stdout)?.[1]);
      const lost = Number(/Queries lost:\s+(\d+)/.exec(stdout)?.[1]);
      assert.ok(sent > 3000, `dnsperf sent ${sent} queries`);
      assert.equal(lost, 0, stdout);
    }
    assert.ok(
      (await within(5000, () => !clusterOf(a).connected && !clusterOf(b).connected)) >= 0,
      'both nodes see Redis gone',
    );
    const n = 100;
    let answered = 0;
    for (let i = 0; i < n; i++) {
      const r = await dig('127.0.0.1', i % 2 === 0 ? a.port : b.port, ['www.example.test', 'A']);
      if (r.status === 'NOERROR' && r.answers.length === 1) answered++;
    }
    assert.equal(answered, n, `${n - answered} of ${n} queries lost with Redis down`);
    // Local decisions go on.
    a.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.79', seconds: 600 });
    b.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.80', seconds: 600 });
    assert.equal(await blocked(a, 'www.example.test', '127.0.0.79'), true);
    assert.equal(await blocked(b, 'www.example.test', '127.0.0.80'), true);
    assert.equal(await blocked(b, 'www.example.test', '127.0.0.79'), false, 'B cannot know yet');
    assert.ok(clusterOf(a).disconnects >= 1 && clusterOf(b).disconnects >= 1);

    await redis.resume();
    assert.ok(
      (await within(10_000, () => clusterOf(a).connected && clusterOf(b).connected)) >= 0,
      'both nodes reconnect',
    );
    assert.ok(
      (await within(5000, () => blocked(b, 'www.example.test', '127.0.0.79'))) >= 0,
      'B learns what A decided alone',
    );
    assert.ok(
      (await within(5000, () => blocked(a, 'www.example.test', '127.0.0.80'))) >= 0,
      'A learns what B decided alone',
    );
    assert.equal(await blocked(a, 'www.other.test'), true);
    assert.equal(await blocked(b, 'www.other.test'), true);
    const check = new Redis({ host: '127.0.0.1', port: redis.port });
    try {
      const fields = await check.hkeys('{dnsward}:decisions');
      for (const f of ['b|other.test', 'q|127.0.0.78', 'q|127.0.0.79', 'q|127.0.0.80', 'a|tunnel.test|*'])
        assert.ok(fields.includes(f), `Redis holds ${f} again: ${fields.join(', ')}`);
    } finally {
      check.disconnect();
    }
  });
});
