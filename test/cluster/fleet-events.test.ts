/**
 * The fleet console: two dnsward nodes and one real redis-server (loopback, no persistence). A
 * tunnel cut on node alpha appears in node beta's console API (`/api/threats?scope=fleet`) naming
 * alpha, and one cut on beta in alpha's fleet read, each event once (beta's copy of alpha's block
 * is not written again), and the incident's detail on beta shows alpha's stage trace; hostile entries put into the stream are skipped and counted, never shown;
 * with Redis killed the fleet scope answers 503 "fleet view unavailable", the node's own scope and
 * DNS go on, and events seen meanwhile are counted as not written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TUNNEL_TYPES } from '../../src/console/routes/threat-routes.js';
import type { SecurityEvent } from '../../src/events/security-event.js';
import { buildRegistry } from '../../src/metrics/prometheus-metrics.js';
import { dig } from '../helpers/dns-client.js';
import { tunnelUntilBlocked, within } from '../helpers/cluster-probes.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the fleet test';
const STREAM = '{dnsward}:events';

interface ThreatsReply {
  threats: SecurityEvent[];
  node: string | null;
  scope: string;
  fleet?: { scanned: number; dropped: number; truncated: boolean };
  error?: string;
}

describe('fleet console: every node shows the fleet’s threats, naming the node that saw each', () => {
  let unbound: UnboundServer;
  let redis: RedisServer;
  let alpha: RunningDnsward;
  let beta: RunningDnsward;
  let cookie = '';

  const config = (name: string, withConsole: boolean) => `listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
threads: 0
${withConsole ? 'console: { listen: "127.0.0.1:0" }' : ''}
cluster:
  redis: { host: "${redis.url}" }
  nodeName: ${name}
`;
  const threats = async (query: string): Promise<{ status: number; body: ThreatsReply }> => {
    const r = await fetch(`http://127.0.0.1:${beta.consoleServer!.boundPort}/api/threats?${query}`, {
      headers: { cookie },
    });
    return { status: r.status, body: (await r.json()) as ThreatsReply };
  };
  const fleetMetric = async (node: RunningDnsward, name: string, op: string) => {
    const m = new RegExp(`^dnsward_cluster_fleet_events_total\\{node="${name}",op="${op}"\\} (\\d+)$`, 'm').exec(
      await buildRegistry(node.server).metrics(),
    );
    assert.ok(m, `metric for ${name} ${op}`);
    return Number(m[1]);
  };

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test', 'tunnel.test', 'other.test', 'late.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    redis = await RedisServer.start();
    alpha = await startDnsward(config('alpha', false));
    process.env.DNSWARD_ADMIN_PASSWORD = ADMIN_PASSWORD;
    try {
      beta = await startDnsward(config('beta', true));
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
    }
    const login = await fetch(`http://127.0.0.1:${beta.consoleServer!.boundPort}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.equal(login.status, 200);
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const connected = () => alpha.server.cluster!.sync.connected && beta.server.cluster!.sync.connected;
    assert.ok((await within(5000, connected)) >= 0, 'both nodes connect to Redis');
  });

  after(async () => {
    await alpha?.stop();
    await beta?.stop();
    await redis?.stop();
    await unbound?.stop();
  });

  it("a tunnel cut on alpha is in beta's fleet view, naming alpha; one cut on beta in alpha's", async () => {
    assert.ok((await tunnelUntilBlocked(alpha, 'tunnel.test')) > 0, 'alpha cuts the tunnel');
    let seen: SecurityEvent[] = [];
    const took = await within(5000, async () => {
      const r = await threats('scope=fleet&view=tunnels');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      seen = r.body.threats.filter((e) => e.domain === 'tunnel.test');
      return seen.some((e) => e.type === 'domain_blocked');
    });
    assert.ok(took >= 0, `beta's fleet view shows alpha's block: ${JSON.stringify(seen.map((e) => [e.type, e.node]))}`);
    console.log(`# alpha's block was in beta's fleet view ${took} ms after alpha answered it`);
    assert.ok(
      seen.every((e) => e.node === 'alpha'),
      `every event of the tunnel names alpha: ${JSON.stringify(seen.map((e) => [e.type, e.node]))}`,
    );
    assert.equal(
      seen.filter((e) => e.type === 'domain_blocked').length,
      1,
      "the block is in the stream once: beta's event for the decision it applied is not written again",
    );
    const block = seen.find((e) => e.type === 'domain_blocked')!;
    assert.match(block.incident ?? '', /^TG-[0-9a-f]{8}$/);
    assert.ok(block.stages.length > 0, 'the event keeps its stage trace');
    const detail = await fetch(
      `http://127.0.0.1:${beta.consoleServer!.boundPort}/api/threats/${encodeURIComponent(block.incident!)}`,
      { headers: { cookie } },
    );
    assert.equal(detail.status, 200);
    const { primary } = (await detail.json()) as { primary: SecurityEvent };
    assert.equal(primary.node, 'alpha', "the incident's detail on beta shows alpha's event");
    assert.ok(primary.stages.length > 0, "with alpha's stage trace (beta's own copy of the decision has none)");
    const local = await threats('view=tunnels');
    assert.equal(local.status, 200);
    assert.equal(local.body.node, 'beta', "beta's own scope says it is a cluster node");
    assert.ok(
      local.body.threats.every((e) => e.node !== 'beta' || e.domain !== 'tunnel.test'),
      'beta saw no tunnel query itself',
    );

    assert.ok((await tunnelUntilBlocked(beta, 'other.test')) > 0, 'beta cuts another tunnel');
    assert.ok(
      (await within(5000, async () =>
        (await alpha.server.fleet!.read({ type: TUNNEL_TYPES, limit: 100 })).events.some(
          (e) => e.domain === 'other.test' && e.type === 'domain_blocked' && e.node === 'beta',
        ),
      )) >= 0,
      "alpha's fleet read has beta's block",
    );
    assert.ok((await fleetMetric(alpha, 'alpha', 'written')) > 0);
    assert.ok((await fleetMetric(beta, 'beta', 'written')) > 0);
    assert.equal(await fleetMetric(beta, 'beta', 'dropped'), 0);
  });

  it('skips and counts hostile entries in the stream, and shows the valid ones', async () => {
    const valid = {
      id: 'f1eef1ee-0000-4000-8000-000000000001',
      time: new Date().toISOString(),
      type: 'domain_blocked',
      severity: 8,
      node: 'gamma',
      client: '192.0.2.9',
      domain: 'gamma.test',
      reasons: ['seen on a third node'],
      stages: [],
    };
    // Counted as malformed: what cannot be read, and what passes the page's filter but not the schema.
    const hostile = [
      'not json',
      JSON.stringify({ ...valid, node: 'a b' }),
      JSON.stringify({ ...valid, severity: 99 }),
      JSON.stringify({ ...valid, stages: 'none' }),
      JSON.stringify({ ...valid, domain: 'x'.repeat(20_000) }),
    ];
    // Not shown, not checked further: no threat type the page asked for.
    const filteredOut = [
      JSON.stringify({ ...valid, type: 'root_granted' }),
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    ];
    const writer = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    await writer.connect();
    const malformedBefore = await fleetMetric(beta, 'beta', 'malformed');
    try {
      for (const text of [...hostile, ...filteredOut]) await writer.xadd(STREAM, '*', 'e', text);
      await writer.xadd(STREAM, '*', 'not-e', JSON.stringify(valid)); // not an event entry
      await writer.xadd(STREAM, '*', 'e', JSON.stringify({ ...valid, extra: '<script>' }));
    } finally {
      writer.disconnect();
    }
    const r = await threats('scope=fleet&view=all&limit=500');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.fleet?.dropped, hostile.length + 1, JSON.stringify(r.body.fleet));
    assert.ok(
      r.body.threats.every((e) => (e.type as string) !== 'root_granted' && typeof e.node === 'string'),
      'nothing filtered out is shown',
    );
    const gamma = r.body.threats.filter((e) => e.node === 'gamma');
    assert.equal(gamma.length, 1, 'the valid entry of a third node is shown');
    assert.equal((gamma[0] as unknown as Record<string, unknown>).extra, undefined, 'unknown fields are not passed on');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
    assert.equal((await fleetMetric(beta, 'beta', 'malformed')) - malformedBefore, hostile.length + 1);
    assert.match((await dig('127.0.0.1', beta.port, ['www.example.test', 'A'])).raw, /192\.0\.2\.10/);
  });

  it('without Redis: the fleet view says it is unavailable, the node’s own view and DNS go on', async () => {
    await redis.kill();
    assert.ok((await within(5000, () => !beta.server.cluster!.sync.connected)) >= 0, 'beta sees Redis gone');
    const down = await threats('scope=fleet&view=tunnels');
    assert.equal(down.status, 503);
    assert.match(down.body.error ?? '', /^fleet view unavailable: /);
    const droppedBefore = await fleetMetric(beta, 'beta', 'dropped');
    assert.ok((await tunnelUntilBlocked(beta, 'late.test')) > 0, 'beta cuts a tunnel with Redis down');
    const local = await threats('view=tunnels');
    assert.equal(local.status, 200);
    assert.ok(
      (await within(2000, async () =>
        (await threats('view=tunnels')).body.threats.some((e) => e.domain === 'late.test' && e.node === 'beta'),
      )) >= 0,
      "beta's own view has the tunnel",
    );
    assert.ok((await fleetMetric(beta, 'beta', 'dropped')) > droppedBefore, 'events not written are counted');
    for (let i = 0; i < 20; i++)
      assert.match((await dig('127.0.0.1', beta.port, ['www.example.test', 'A'])).raw, /192\.0\.2\.10/);
    await redis.resume();
    assert.ok((await within(10_000, () => beta.server.cluster!.sync.connected)) >= 0, 'beta reconnects');
    const back = await threats('scope=fleet&view=tunnels');
    assert.equal(back.status, 200, 'the fleet view is back (Redis restarted empty)');
  });
});
