/**
 * Dynamic blocks across a cluster: two dnsward nodes and one real redis-server (loopback). A
 * client over a rate rule on node A is refused by node B too, listed on B with the node that
 * decided; an operator's lift on B frees it on A; an address exempt on B is never blocked from
 * elsewhere. Waits are bounded at 10 s (propagation time is a benchmark's, not asserted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rcode } from '../../src/dns/wire.js';
import { within } from '../helpers/cluster-probes.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';
import { headerReply, udpBurst } from '../helpers/udp-burst.js';

const ask = async (node: RunningDnsward, source: string) => {
  const replies = await udpBurst(
    source,
    node.port,
    1,
    (id) => encodeQuery('www.example.test', 'A', { id }),
    headerReply,
    1500,
  );
  return replies.get(1)?.rcode ?? -1;
};

describe('cluster: dynamic blocks shared through Redis', () => {
  let unbound: UnboundServer;
  let redis: RedisServer;
  let a: RunningDnsward;
  let b: RunningDnsward;

  const config = (name: string, exempt: string) => `listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
defence:
  dynamicBlocks:
    enabled: true
    exempt: [${exempt}]
    rules: [{ name: flood, metric: queries, rate: 20, window: 2s, action: refused, duration: 5m }]
cluster:
  redis: { host: "${redis.url}" }
  nodeName: ${name}
`;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    redis = await RedisServer.start();
    a = await startDnsward(config('a', ''));
    b = await startDnsward(config('b', '"127.0.0.77"'));
    const connected = await within(
      10_000,
      () => a.server.snapshot().cluster!.connected && b.server.snapshot().cluster!.connected,
    );
    assert.ok(connected >= 0, 'both nodes connect to Redis');
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
    await unbound?.stop();
  });

  it('a client over a rate rule on A is refused on B, listed there with the deciding node; a lift on B frees it on A', async () => {
    assert.equal(await ask(b, '127.0.0.66'), Rcode.NOERROR, 'B answers the client before');
    // 200 queries at once: 100/s over the 2 s window, five times the rule's 20/s.
    await udpBurst('127.0.0.66', a.port, 200, (id) => encodeQuery('www.example.test', 'A', { id }), headerReply, 1500);
    const onA = await within(10_000, () => a.server.dynamicBlocks.list().some((x) => x.prefix === '127.0.0.66/32'));
    assert.ok(onA >= 0, 'A blocks the flooding client');
    const onB = await within(10_000, async () => (await ask(b, '127.0.0.66')) === Rcode.REFUSED);
    console.log(`# dynamic block on A answered REFUSED on B after ${onB} ms`);
    assert.ok(onB >= 0, 'B refuses the client A blocked');
    const listed = b.server.dynamicBlocks.list().find((x) => x.prefix === '127.0.0.66/32');
    assert.equal(listed?.origin, 'a');
    assert.equal(await ask(b, '127.0.0.67'), Rcode.NOERROR, 'other clients are answered on B');

    b.server.control({ cmd: 'unblock-client', who: 'tester', client: '127.0.0.66' });
    const freed = await within(10_000, async () => (await ask(a, '127.0.0.66')) === Rcode.NOERROR);
    assert.ok(freed >= 0, 'the lift on B frees the client on A');
    assert.equal(a.server.dynamicBlocks.list().length, 0);
  });

  it('never blocks on B an address exempt there, whoever blocked it', async () => {
    await udpBurst('127.0.0.77', a.port, 200, (id) => encodeQuery('www.example.test', 'A', { id }), headerReply, 1500);
    assert.ok(
      (await within(10_000, () => a.server.dynamicBlocks.list().some((x) => x.prefix === '127.0.0.77/32'))) >= 0,
      'A blocks it',
    );
    const dropped = await within(10_000, () => b.server.snapshot().cluster!.dropped.allowlisted > 0);
    assert.ok(dropped >= 0, 'B drops the block as allowlisted');
    assert.equal(await ask(b, '127.0.0.77'), Rcode.NOERROR);
    assert.equal(b.server.dynamicBlocks.list().length, 0);
  });
});
