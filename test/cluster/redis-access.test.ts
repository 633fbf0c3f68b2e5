/**
 * How nodes reach Redis, with real redis-servers on loopback: over TLS with a password read from
 * a file (a node with the wrong password, or without TLS, stays apart and still answers DNS), and
 * through a Sentinel that names the master.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeSelfSignedCert } from '../helpers/certificates.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';

async function quarantined(node: RunningDnsward, source: string): Promise<boolean> {
  return (await dig('127.0.0.1', node.port, ['-b', source, 'www.example.test', 'A'])).raw.includes('Tunnel Guard');
}

async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<boolean> {
  const started = Date.now();
  do {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  } while (Date.now() - started <= ms);
  return false;
}

const connected = (node: RunningDnsward) => node.server.snapshot().cluster!.connected;

describe('cluster: reaching Redis', () => {
  let unbound: UnboundServer;
  const servers: RedisServer[] = [];
  const nodes: RunningDnsward[] = [];
  let dir: string;

  const node = async (name: string, redis: string) => {
    const n = await startDnsward(`listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
cluster:
  redis: ${redis}
  nodeName: ${name}
`);
    nodes.push(n);
    return n;
  };

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dir = mkdtempSync(join(tmpdir(), 'dnsward-redis-access-'));
  });

  after(async () => {
    for (const n of nodes) await n.stop();
    for (const s of servers) await s.stop();
    await unbound?.stop();
  });

  it('shares decisions over TLS with a password from a file; a wrong password or plain TCP stays apart', async () => {
    const tls = makeSelfSignedCert(dir, 'redis');
    const redis = await RedisServer.start({ password: 'correct horse battery', tls });
    servers.push(redis);
    writeFileSync(join(dir, 'password'), 'correct horse battery\n');
    writeFileSync(join(dir, 'wrong'), 'wrong\n');
    const secure = `{ host: "${redis.url}", passwordFile: "${join(dir, 'password')}", tls: { ca: "${tls.ca}" } }`;
    const a = await node('tls-a', secure);
    const b = await node('tls-b', secure);
    const wrong = await node(
      'tls-wrong',
      `{ host: "${redis.url}", passwordFile: "${join(dir, 'wrong')}", tls: { ca: "${tls.ca}" } }`,
    );
    const plain = await node('tls-plain', `{ host: "${redis.url}", passwordFile: "${join(dir, 'password')}" }`);
    assert.ok(await within(5000, () => connected(a) && connected(b)), 'the nodes with the password connect over TLS');
    a.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.91', seconds: 600 });
    assert.ok(await within(2000, () => quarantined(b, '127.0.0.91')), 'the decision crosses');
    assert.equal(connected(wrong), false, 'a wrong password is refused');
    assert.equal(connected(plain), false, 'plain TCP to a TLS port gets nowhere');
    assert.equal(await quarantined(wrong, '127.0.0.91'), false);
    assert.equal(
      (await dig('127.0.0.1', wrong.port, ['www.example.test', 'A'])).answers.length,
      1,
      'a node apart still answers',
    );
    assert.equal((await dig('127.0.0.1', plain.port, ['www.example.test', 'A'])).answers.length, 1);
  });

  it('follows the master a Sentinel names', async () => {
    const master = await RedisServer.start();
    const sentinel = await RedisServer.start({ sentinelFor: master.port });
    servers.push(master, sentinel);
    const viaSentinel = `{ sentinels: ["127.0.0.1:${sentinel.port}"], name: dnsward }`;
    const a = await node('sentinel-a', viaSentinel);
    const b = await node('sentinel-b', viaSentinel);
    assert.ok(
      await within(5000, () => connected(a) && connected(b)),
      'both nodes reach the master through the Sentinel',
    );
    a.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.92', seconds: 600 });
    assert.ok(await within(2000, () => quarantined(b, '127.0.0.92')), 'the decision crosses');
  });

  it('goes on through a Sentinel failover: the replica promoted, decisions cross again', async () => {
    const master = await RedisServer.start();
    const replica = await RedisServer.start({ replicaOf: master.port });
    const sentinel = await RedisServer.start({ sentinelFor: master.port, downAfterMs: 500 });
    servers.push(master, replica, sentinel);
    const viaSentinel = `{ sentinels: ["127.0.0.1:${sentinel.port}"], name: dnsward }`;
    const a = await node('failover-a', viaSentinel);
    const b = await node('failover-b', viaSentinel);
    assert.ok(await within(5000, () => connected(a) && connected(b)), 'both nodes reach the master');
    a.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.93', seconds: 600 });
    assert.ok(await within(2000, () => quarantined(b, '127.0.0.93')), 'a decision crosses before the failover');
    await master.kill();
    // Sentinel sees the master down after 500 ms and promotes the replica; both nodes follow it.
    assert.ok(
      await within(20_000, async () => {
        b.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.94', seconds: 600 });
        return quarantined(a, '127.0.0.94');
      }),
      'a decision made after the failover crosses through the promoted replica',
    );
    assert.equal(
      (await dig('127.0.0.1', a.port, ['-b', '127.0.0.5', 'www.example.test', 'A'])).status,
      'NOERROR',
      'DNS answered throughout',
    );
  });
});
