/**
 * Two dnsward nodes on a real Redis Cluster (three redis-server masters on loopback, slots
 * assigned by `redis-cli --cluster create`), configured with `redis: { nodes: [...] }` naming one
 * of them (ioredis discovers the others): a Tunnel Guard block on A is answered on B, an
 * operator allow on B lifts it on A, and a node restarted loads the current decisions. The keys
 * share one hash tag (`{dnsward}`), so the multi-key scripts run on one slot; pub/sub is
 * broadcast by the cluster. Waits are bounded at 10 s.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { blocked, tunnelUntilBlocked, within } from '../helpers/cluster-probes.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';

const run = promisify(execFile);

describe('cluster on a Redis Cluster (three masters)', () => {
  let unbound: UnboundServer;
  let masters: RedisServer[] = [];
  let a: RunningDnsward;
  let b: RunningDnsward;

  const config = (name: string) => `listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
guard: { holdTimeout: 1s }
cluster:
  redis: { nodes: ["127.0.0.1:${masters[0].port}"] }
  nodeName: ${name}
`;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test', 'tunnel.test'], records: [] });
    masters = await Promise.all([0, 1, 2].map(() => RedisServer.start({ cluster: true })));
    await run(
      'redis-cli',
      ['--cluster', 'create', ...masters.map((m) => m.url), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    const ok = await within(10_000, async () => {
      const outs = await Promise.all(
        masters.map((m) => run('redis-cli', ['-p', String(m.port), 'cluster', 'info'], { timeout: 5000 })),
      );
      return outs.every((o) => o.stdout.includes('cluster_state:ok'));
    });
    assert.ok(ok >= 0, 'the Redis Cluster is up');
    a = await startDnsward(config('a'));
    b = await startDnsward(config('b'));
    assert.ok(
      (await within(10_000, () => a.server.snapshot().cluster!.connected && b.server.snapshot().cluster!.connected)) >=
        0,
      'both nodes connect to the cluster',
    );
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    for (const m of masters) await m.stop();
    await unbound?.stop();
  });

  it('a block on A is answered on B; an allow on B lifts it on A; a restarted node loads the decisions', async () => {
    assert.equal(await blocked(b, 'www.tunnel.test'), false);
    assert.ok((await tunnelUntilBlocked(a, 'tunnel.test')) >= 0, 'A blocks the tunnel');
    const took = await within(10_000, () => blocked(b, 'www.tunnel.test'));
    assert.ok(took >= 0, 'B answers the domain as blocked');
    console.log(`# through the Redis Cluster, B answered the block ${took} ms after A decided it`);

    // A node (re)started now loads the block from the cluster before any message reaches it.
    const c = await startDnsward(config('c'));
    try {
      assert.ok((await within(10_000, () => blocked(c, 'www.tunnel.test'))) >= 0, 'a new node loads the block');
    } finally {
      await c.stop();
    }

    b.server.control({ cmd: 'allow', who: 'test', domain: 'tunnel.test', seconds: 3600 });
    assert.ok(
      (await within(10_000, async () => !(await blocked(a, 'www.tunnel.test')))) >= 0,
      'A lets the domain through',
    );
    assert.equal(a.server.snapshot().cluster!.dropped.malformed ?? 0, 0);
  });
});
