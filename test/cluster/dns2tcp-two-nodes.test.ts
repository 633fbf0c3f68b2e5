/**
 * A real dns2tcp tunnel (Debian's dns2tcpd and dns2tcpc, in network namespaces) whose queries
 * alternate between two dnsward nodes sharing one real redis-server. The client's resolver
 * address is a small UDP relay (test/helpers/alternating-relay.ts: a relay, not a mock of
 * dns2tcp, which takes a single resolver address) that hands the queries to the nodes in turn,
 * A, B, A, B, as a client rotating between two resolvers would. Both runs are measured the same
 * way in this file: first one node alone behind the relay, then the two nodes; the tunnel-zone
 * queries that reached the tunnel server are counted from a tcpdump capture on the server's
 * link, with the bytes of their names, and printed for both runs.
 *
 * Bounds, those of the single-node test (guard-inline.test.ts cuts dns2tcp within 10 queries),
 * asserted for both runs: the echo through the tunnel fails; at most 10 queries carrying data
 * reach the tunnel server, with at most 2,550 bytes of names (10 names of DNS's longest).
 *
 * "Carrying data": every query except dns2tcp's empty polls (one 10-character label: the
 * header alone, no payload). Those are counted and printed but not bounded, because alternation
 * sends them past the bound in a way no node can prevent without waiting on Redis: dns2tcpc
 * sends a data query and a poll in turn, so strict alternation gives one node the data and the
 * other the polls; the data node cuts the tunnel on the spot (one query over the query budget),
 * and the poll node forwards the polls that reach it in the few milliseconds before that
 * decision does (measured in six runs: 3 handshake queries + 8–9 empty polls, against 3 + 1–2
 * for one node; no query of the echo's payload passed either way).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { readDnsMessage } from '../../src/dns/message-summary.js';
import { presentName } from '../../src/dns/name.js';
import { AlternatingRelay } from '../helpers/alternating-relay.js';
import { udpExchange } from '../helpers/dns-client.js';
import { dns2tcpEcho, startDns2tcpServer } from '../helpers/dns2tcp.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { NetnsLab } from '../helpers/netns.js';
import { encodeQuery } from '../helpers/packets.js';
import { RedisServer } from '../helpers/redis.js';
import { PacketCapture } from '../helpers/tcpdump.js';
import { UnboundServer } from '../helpers/unbound.js';

const ZONE = 'tunnel.test';
const MAX_QUERIES = 10;
const MAX_NAME_BYTES = MAX_QUERIES * 255;
/** dns2tcp's header, base64: a name of just this under the zone is an empty poll. */
const EMPTY_POLL = new RegExp(`^[A-Za-z0-9+/]{10}\\.${ZONE.replace('.', '\\.')}$`);

interface Reached {
  /** Tunnel-zone queries that reached the tunnel server. */
  queries: number;
  /** Of those, dns2tcp's empty polls. */
  emptyPolls: number;
  /** Bytes of the names of the queries carrying data. */
  nameBytes: number;
}

function tunnelQueriesIn(file: string): Reached {
  const r: Reached = { queries: 0, emptyPolls: 0, nameBytes: 0 };
  for (const m of readCapture(readFileSync(file)).messages) {
    const d = readDnsMessage(m.message);
    if (typeof d === 'string' || d.response) continue;
    const name = presentName(d.labels);
    if (!name.toLowerCase().endsWith(`.${ZONE}`)) continue;
    r.queries++;
    if (EMPTY_POLL.test(name)) r.emptyPolls++;
    else r.nameBytes += name.length;
  }
  return r;
}

/** Whether a node answers a fresh name of the tunnel zone as blocked by Tunnel Guard. */
async function answersBlocked(node: RunningDnsward): Promise<boolean> {
  const reply = await udpExchange(
    '127.0.0.1',
    node.port,
    encodeQuery(`probe${Date.now()}.${ZONE}`, 'TXT', { edns: true }),
    2000,
  );
  return reply !== null && reply.toString('latin1').includes('Tunnel Guard');
}

describe('a dns2tcp tunnel alternating between two dnsward nodes that learn as one', () => {
  let lab: NetnsLab;
  let unbound: UnboundServer;
  let redis: RedisServer;
  let dir: string;
  const nodes: RunningDnsward[] = [];
  let relay: AlternatingRelay | null = null;
  let single: (Reached & { sent: number[] }) | null = null;

  const config = (name: string | null) => `listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
forwardZones:
  - zone: ${ZONE}
    servers: ["${lab.ns('server').address}:53"]
threads: 0
${name === null ? '' : `cluster: { redis: { host: "${redis.url}" }, nodeName: ${name} }`}
`;

  /** Runs the tunnel through the relay to these nodes: the echo's outcome and what reached the tunnel server. */
  const tunnelThrough = async (run: string, through: RunningDnsward[], localPort: number) => {
    relay = await AlternatingRelay.start(
      lab.ns('client').rootAddress,
      53,
      through.map((n) => n.port),
    );
    const file = join(dir, `${run.replace(' ', '-')}.pcap`);
    const capture = await PacketCapture.start(lab.ns('server').rootInterface, file);
    const echo = await dns2tcpEcho(lab, ZONE, localPort);
    await capture.stop();
    relay.close();
    const sent = relay.sent;
    relay = null;
    const reached = tunnelQueriesIn(file);
    console.log(
      `# ${run}: echo "${echo}"; ${reached.queries} tunnel queries reached the tunnel server: ${reached.queries - reached.emptyPolls} carrying data (${reached.nameBytes} bytes of names) and ${reached.emptyPolls} empty polls; the relay handed ${sent.join(' / ')} queries to the node(s)`,
    );
    return { echo, ...reached, sent };
  };

  const assertWithinBounds = (r: Reached & { echo: string }) => {
    assert.notEqual(r.echo, 'echo intact', 'the transfer must fail');
    const data = r.queries - r.emptyPolls;
    assert.ok(data >= 1 && data <= MAX_QUERIES, `${data} tunnel queries carrying data reached the tunnel server`);
    assert.ok(r.nameBytes <= MAX_NAME_BYTES, `${r.nameBytes} bytes of names reached the tunnel server`);
  };

  before(async () => {
    lab = NetnsLab.create(['client', 'server']);
    dir = mkdtempSync(join(tmpdir(), 'dnsward-dns2tcp-two-'));
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    redis = await RedisServer.start();
    await startDns2tcpServer(lab, dir, ZONE);
  });

  after(async () => {
    relay?.close();
    for (const n of nodes) await n.stop();
    await redis?.stop();
    await unbound?.stop();
    await lab?.destroy();
  });

  it(`one node alone behind the relay: cut within ${MAX_QUERIES} queries and ${MAX_NAME_BYTES} bytes (the baseline, measured the same way)`, async () => {
    const node = await startDnsward(config(null));
    nodes.push(node);
    const r = await tunnelThrough('one node', [node], 4461);
    await node.stop();
    nodes.splice(nodes.indexOf(node), 1);
    single = r;
    assertWithinBounds(r);
  });

  it(`two nodes, queries alternating: cut within the same ${MAX_QUERIES} queries and ${MAX_NAME_BYTES} bytes`, async () => {
    const a = await startDnsward(config('a'));
    nodes.push(a);
    const b = await startDnsward(config('b'));
    nodes.push(b);
    const deadline = Date.now() + 5000;
    while (!(a.server.cluster!.sync.connected && b.server.cluster!.sync.connected) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(a.server.cluster!.sync.connected && b.server.cluster!.sync.connected, 'both nodes reach Redis');
    const r = await tunnelThrough('two nodes', [a, b], 4462);
    assert.ok(
      r.sent[0] >= 2 && r.sent[1] >= 2,
      `both nodes had tunnel queries (the relay handed ${r.sent.join(' / ')})`,
    );
    assertWithinBounds(r);
    // Whichever node cut it, both answer the zone as blocked now (the decision crossed through Redis).
    const both = Date.now() + 5000;
    while (!((await answersBlocked(a)) && (await answersBlocked(b))) && Date.now() < both)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok((await answersBlocked(a)) && (await answersBlocked(b)), 'both nodes answer the tunnel zone as blocked');
    // The newest decision wins on both: the node that decided first holds the other's (origin names it).
    const held = [a, b].map((n) => {
      const listing = n.server.control({ cmd: 'blocks', who: 'test' }) as {
        blocks: Array<{ domain: string; origin?: string | null }>;
      };
      return listing.blocks.filter((x) => x.domain === ZONE).map((x) => x.origin ?? null);
    });
    assert.ok(
      held[0].includes('b') || held[1].includes('a'),
      `a block decided on one node is held by the other (a holds ${JSON.stringify(held[0])}, b holds ${JSON.stringify(held[1])})`,
    );
    const one = single;
    console.log(
      `# bounds: <= ${MAX_QUERIES} queries carrying data, <= ${MAX_NAME_BYTES} bytes of their names; one node: ${one === null ? '?' : `${one.queries - one.emptyPolls} queries, ${one.nameBytes} bytes (+${one.emptyPolls} empty polls)`}; two nodes: ${r.queries - r.emptyPolls} queries, ${r.nameBytes} bytes (+${r.emptyPolls} empty polls)`,
    );
  });
});
