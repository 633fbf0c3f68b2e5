/**
 * Learning as one: a tunnel whose queries alternate between two or three nodes of a cluster (a
 * client with several resolver addresses) is cut after about as many queries as on one node
 * alone, because each node adds the others' information windows for the pair (real
 * redis-server, loopback); so is exfiltration spread over many domains and two nodes, through
 * the client's windows across domains. With learning off (`learnInterval: 0`) each spends a
 * budget on each node.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { udpExchange } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';

/** Queries leave at irregular gaps (50–450 ms): regular ones would be cut as a beacon, not by the budget this test is about. */
const PACE_MS = [50, 450];
const MAX_QUERIES = 120;
const PAYLOAD_BYTES = 15;

async function isBlocked(node: RunningDnsward, name: string, type: 'A' | 'TXT'): Promise<boolean> {
  const reply = await udpExchange(
    '127.0.0.1',
    node.port,
    encodeQuery(name, type, { edns: true, id: randomBytes(2).readUInt16BE() }),
    2000,
  );
  return reply !== null && reply.toString('latin1').includes('Tunnel Guard');
}

/**
 * Sends a tunnel's TXT queries (PAYLOAD_BYTES random bytes in hex each), at irregular gaps, to the
 * nodes in turn, until the domain is blocked for everyone; how many queries that took.
 */
async function queriesUntilDomainBlocked(nodes: RunningDnsward[], zone: string): Promise<number> {
  for (let i = 1; i <= MAX_QUERIES; i++) {
    const node = nodes[i % nodes.length];
    await isBlocked(node, `${randomBytes(PAYLOAD_BYTES).toString('hex')}.${zone}`, 'TXT');
    if (await isBlocked(node, `www.${zone}`, 'A')) return i;
    await new Promise((r) => setTimeout(r, PACE_MS[0] + Math.random() * (PACE_MS[1] - PACE_MS[0])));
  }
  return -1;
}

/** One TXT query from `source` (a loopback address of its own: its own client state); whether it was answered as blocked. */
function blockedFrom(node: RunningDnsward, source: string, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(false);
    }, 2000);
    socket.on('message', (m) => {
      clearTimeout(timer);
      socket.close();
      resolve(m.toString('latin1').includes('Tunnel Guard'));
    });
    socket.bind(0, source, () =>
      socket.send(encodeQuery(name, 'TXT', { edns: true, id: randomBytes(2).readUInt16BE() }), node.port, '127.0.0.1'),
    );
  });
}

const SPREAD_ZONES = 60;

/**
 * Exfiltration spread over many domains: each TXT query (PAYLOAD_BYTES random bytes in hex) goes
 * to the next of SPREAD_ZONES domains, at irregular gaps, to the nodes in turn, until one is
 * answered as blocked; how many queries that took. No domain gets enough to trip its own budget:
 * only the client's total across domains can.
 */
async function spreadQueriesUntilBlocked(nodes: RunningDnsward[], source: string): Promise<number> {
  for (let i = 1; i <= SPREAD_ZONES; i++) {
    if (await blockedFrom(nodes[i % nodes.length], source, `${randomBytes(PAYLOAD_BYTES).toString('hex')}.x${i}.test`))
      return i;
    await new Promise((r) => setTimeout(r, PACE_MS[0] + Math.random() * (PACE_MS[1] - PACE_MS[0])));
  }
  return -1;
}

describe('cluster: learning as one', () => {
  let unbound: UnboundServer;
  let redis: RedisServer;
  const nodes: RunningDnsward[] = [];

  const start = async (cluster: string) => {
    const node = await startDnsward(`listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
${cluster}
`);
    nodes.push(node);
    return node;
  };
  const member = (name: string, learnInterval: string) =>
    `cluster: { redis: { host: "${redis.url}" }, nodeName: ${name}, learnInterval: ${learnInterval}, keyPrefix: ${learnInterval === '0' ? 'apart' : 'together'} }`;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: [
        'solo.test',
        'pair.test',
        'apart.test',
        'three.test',
        ...Array.from({ length: SPREAD_ZONES }, (_, i) => `x${i + 1}.test`),
      ],
      records: [],
    });
    redis = await RedisServer.start();
  });

  after(async () => {
    for (const n of nodes) await n.stop();
    await redis?.stop();
    await unbound?.stop();
  });

  it('cuts a tunnel alternating between two or three nodes after about the queries one node needs', async (t) => {
    const solo = await start('');
    const alone = await queriesUntilDomainBlocked([solo], 'solo.test');
    assert.ok(alone > 4, `one node alone cuts the tunnel after ${alone} queries (the test needs a budget of several)`);

    const a = await start(member('a', '100ms'));
    const b = await start(member('b', '100ms'));
    const together = await queriesUntilDomainBlocked([a, b], 'pair.test');
    const e = await start(member('e', '100ms'));
    const three = await queriesUntilDomainBlocked([a, b, e], 'three.test');
    const c = await start(member('c', '0'));
    const d = await start(member('d', '0'));
    const apart = await queriesUntilDomainBlocked([c, d], 'apart.test');
    const report = `one node: ${alone} queries; two nodes learning as one: ${together}; three: ${three}; two nodes learning apart: ${apart}`;
    t.diagnostic(report);
    assert.ok(together > 0 && together <= alone + 3, report);
    assert.ok(three > 0 && three <= alone + 4, report);
    assert.ok(apart < 0 || apart > alone + 3, `learning apart costs a budget per node: ${report}`);
    assert.ok(
      a.server.snapshot().cluster!.learning.written > 0 && b.server.snapshot().cluster!.learning.read > 0,
      report,
    );
  });

  it('cuts exfiltration spread over many domains and two nodes after about the queries one node needs', async (t) => {
    // The nodes the test above started (in its order): solo, a, b (learning as one), e, c, d (apart).
    const [solo, a, b, c, d] = [nodes[0], nodes[1], nodes[2], nodes[4], nodes[5]];
    const alone = await spreadQueriesUntilBlocked([solo], '127.0.0.51');
    const together = await spreadQueriesUntilBlocked([a, b], '127.0.0.52');
    const apart = await spreadQueriesUntilBlocked([c, d], '127.0.0.53');
    const report = `one node: ${alone} queries; two nodes learning as one: ${together}; two nodes learning apart: ${apart}`;
    t.diagnostic(report);
    assert.ok(alone > 4, `one node alone cuts it after ${alone} queries (the test needs a budget of several)`);
    assert.ok(together > 0 && together <= alone + 4, report);
    assert.ok(apart < 0 || apart > alone + 4, `learning apart costs a budget per node: ${report}`);
  });
});
