/**
 * The real executable in a cluster: `dnsward quarantine` on one node holds on the other, whose
 * `dnsward blocks` names the node that decided; a reload (SIGHUP) that changes the cluster's
 * settings keeps it connected, one that renames the node shares under the new name, and one
 * without the cluster section makes the node decide alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer, runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { freePort } from '../helpers/ports.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';

async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const started = Date.now();
  do {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  } while (Date.now() - started <= ms);
  return false;
}

describe('dnsward serve in a cluster (the executable)', () => {
  let unbound: UnboundServer;
  let redis: RedisServer;
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-cluster-cli-'));
  const servers: CliServer[] = [];

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    redis = await RedisServer.start();
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await redis?.stop();
    await unbound?.stop();
  });

  it('shares operator commands, lists the deciding node, and follows reloads', async () => {
    const node = async (name: string) => {
      const port = await freePort();
      const dataDir = join(dir, `var-${name}`);
      const configPath = join(dir, `${name}.yaml`);
      const config = (cluster: string) => `listen: ["127.0.0.1:${port}"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
dataDir: ${dataDir}
threads: 1
${cluster}`;
      writeFileSync(configPath, config(`cluster: { redis: { host: "${redis.url}" }, nodeName: ${name} }\n`));
      const server = CliServer.start(['--config', configPath]);
      servers.push(server);
      await server.waitForLog('dnsward started');
      await server.waitForLog('cluster: connected to Redis');
      return {
        port,
        dataDir,
        server,
        reload: async (cluster: string, times: number) => {
          writeFileSync(configPath, config(cluster));
          server.child.kill('SIGHUP');
          await server.waitForLog('configuration reloaded', times);
        },
      };
    };
    const a = await node('alpha');
    const b = await node('beta');
    const quarantined = async (port: number, client: string) =>
      (await dig('127.0.0.1', port, ['-b', client, 'www.example.test', 'A'])).raw.includes('Tunnel Guard');

    const q = await runCli(['quarantine', '127.0.0.81', '--for', '10m', '--data-dir', a.dataDir]);
    assert.equal(q.code, 0, q.stderr);
    assert.ok(
      await within(2000, () => quarantined(b.port, '127.0.0.81')),
      'beta quarantines the client alpha quarantined',
    );
    const listing = await runCli(['blocks', '--data-dir', b.dataDir]);
    assert.match(listing.stdout, /Cluster node beta: connected to Redis/);
    assert.match(listing.stdout, /127\.0\.0\.81 until .*decided on alpha/);

    // Other settings: still one cluster.
    await b.reload(`cluster: { redis: { host: "${redis.url}" }, nodeName: beta, resyncInterval: 10s }\n`, 1);
    await runCli(['quarantine', '127.0.0.82', '--data-dir', a.dataDir]);
    assert.ok(
      await within(2000, () => quarantined(b.port, '127.0.0.82')),
      "after a reload beta still applies alpha's decisions",
    );

    // A new name: beta's decisions now come from "gamma".
    await b.reload(`cluster: { redis: { host: "${redis.url}" }, nodeName: gamma }\n`, 2);
    await b.server.waitForLog('cluster: connected to Redis', 2);
    await runCli(['quarantine', '127.0.0.83', '--data-dir', b.dataDir]);
    assert.ok(await within(2000, () => quarantined(a.port, '127.0.0.83')));
    assert.match((await runCli(['blocks', '--data-dir', a.dataDir])).stdout, /127\.0\.0\.83 until .*decided on gamma/);

    // No cluster: beta decides alone.
    await b.reload('', 3);
    assert.doesNotMatch((await runCli(['blocks', '--data-dir', b.dataDir])).stdout, /Cluster node/);
    await runCli(['quarantine', '127.0.0.84', '--data-dir', a.dataDir]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      await quarantined(b.port, '127.0.0.84'),
      false,
      'a node out of the cluster no longer applies its decisions',
    );
    assert.equal(await quarantined(b.port, '127.0.0.81'), true, 'and keeps the ones it had');
  });
});
