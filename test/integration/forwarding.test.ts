/**
 * dnsward in front of real unbound upstreams, queried by real dig and kdig.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { dig, kdig, tcpPipeline, udpExchange } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { encodeQuery, header } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

const bigTxt = Array.from(
  { length: 12 },
  (_, i) => `big.example.test. 300 IN TXT "${String(i).padStart(2, '0')}${'x'.repeat(200)}"`,
);

// Every listener test runs on both UDP paths: the batched native socket and node:dgram.
for (const io of ['native', 'dgram'] as const)
  describe(`forwarding to unbound (udp.io: ${io})`, () => {
    let unbound: UnboundServer;
    let dw: RunningDnsward;

    before(async () => {
      unbound = await UnboundServer.start({
        zones: ['example.test'],
        records: [
          'www.example.test. 300 IN A 192.0.2.10',
          'www.example.test. 300 IN AAAA 2001:db8::10',
          'txt.example.test. 300 IN TXT "v=spf1 -all"',
          ...bigTxt,
        ],
      });
      dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
udp: { io: ${io} }
upstreams:
  servers: ["127.0.0.1:${unbound.port}"]
`);
    });
    after(async () => {
      await dw?.stop();
      await unbound?.stop();
    });

    it('answers A, AAAA and TXT over UDP (dig) and TCP (kdig)', async () => {
      const a = await dig('127.0.0.1', dw.port, ['www.example.test', 'A']);
      assert.equal(a.status, 'NOERROR');
      assert.match(a.answers[0], /192\.0\.2\.10$/);
      const aaaa = await kdig('127.0.0.1', dw.port, ['+tcp', 'www.example.test', 'AAAA']);
      assert.match(aaaa.answers[0], /2001:db8::10$/);
      const txt = await dig('127.0.0.1', dw.port, ['txt.example.test', 'TXT']);
      assert.match(txt.answers[0], /"v=spf1 -all"/);
    });

    it('keeps the client query ID and qname case (0x20)', async () => {
      const reply = await udpExchange('127.0.0.1', dw.port, encodeQuery('wWw.ExAmPlE.tEsT', 'A', { id: 31337 }));
      assert.ok(reply);
      const decoded = dnsPacket.decode(reply);
      assert.equal(decoded.id, 31337);
      assert.equal(decoded.questions![0].name, 'wWw.ExAmPlE.tEsT');
    });

    it('serves a repeated query from the cache with a decremented-or-equal TTL', async () => {
      await dig('127.0.0.1', dw.port, ['www.example.test', 'AAAA']);
      const before = dw.server.snapshot().responseTypes.cached ?? 0;
      const second = await dig('127.0.0.1', dw.port, ['www.example.test', 'AAAA']);
      assert.equal(second.status, 'NOERROR');
      assert.ok((dw.server.snapshot().responseTypes.cached ?? 0) > before, 'second AAAA came from the cache');
      const ttl = Number(second.answers[0].split(/\s+/)[1]);
      assert.ok(ttl <= 300 && ttl > 0, `ttl ${ttl}`);
    });

    it('returns NXDOMAIN with the SOA and caches it (RFC 2308)', async () => {
      const first = await dig('127.0.0.1', dw.port, ['missing.example.test', 'A']);
      assert.equal(first.status, 'NXDOMAIN');
      assert.match(first.raw, /AUTHORITY SECTION:\nexample\.test\.\s+\d+\s+IN\s+SOA/);
      const cachedBefore = dw.server.snapshot().responseTypes.cached ?? 0;
      const second = await dig('127.0.0.1', dw.port, ['MISSING.example.test', 'A']);
      assert.equal(second.status, 'NXDOMAIN');
      assert.equal((dw.server.snapshot().responseTypes.cached ?? 0) - cachedBefore, 1);
    });

    it('truncates a large answer for a 512-byte client, which then gets it over TCP', async () => {
      const truncated = await dig('127.0.0.1', dw.port, ['+noedns', '+ignore', 'big.example.test', 'TXT']);
      assert.ok(truncated.flags.includes('tc'), `flags ${truncated.flags}`);
      assert.equal(truncated.answers.length, 0);
      const full = await dig('127.0.0.1', dw.port, ['+noedns', 'big.example.test', 'TXT']);
      assert.equal(full.answers.length, 12);
      assert.match(full.raw, /SERVER: 127\.0\.0\.1#\d+\(127\.0\.0\.1\) \(TCP\)/);
      const fallbacks = dw.server.snapshot().upstreams.reduce((n, u) => n + u.tcpFallbacks, 0);
      assert.ok(fallbacks >= 1, 'the truncated upstream answer was retried over TCP');
    });

    it('answers several pipelined TCP queries on one connection, out of order', async () => {
      await dig('127.0.0.1', dw.port, ['www.example.test', 'A']); // warm: the second query is a cache hit
      const miss = encodeQuery('pipelined-miss.example.test', 'A', { id: 1001 });
      const hit = encodeQuery('www.example.test', 'A', { id: 1002 });
      const more = [1003, 1004, 1005].map((id) => encodeQuery(`p${id}.example.test`, 'A', { id }));
      const answers = await tcpPipeline('127.0.0.1', dw.port, [miss, hit, ...more], 5);
      const ids = answers.map((a) => a.readUInt16BE(0));
      assert.deepEqual([...ids].sort(), [1001, 1002, 1003, 1004, 1005]);
      assert.ok(ids.indexOf(1002) < ids.indexOf(1001), `the cache hit overtook the miss: order ${ids}`);
    });

    it('answers malformed queries with FORMERR, unsupported opcodes with NOTIMP, and counts them', async () => {
      const noQuestion = header(77, 0x0100, 0, 0, 0, 0);
      const formerr = await udpExchange('127.0.0.1', dw.port, noQuestion);
      assert.ok(formerr);
      assert.equal(formerr.readUInt16BE(0), 77);
      assert.equal(formerr[3] & 0xf, 1);
      const loop = Buffer.concat([header(78, 0x0100, 1, 0, 0, 0), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
      assert.equal((await udpExchange('127.0.0.1', dw.port, loop))![3] & 0xf, 1);
      const notify = Buffer.from(encodeQuery('example.test', 'SOA'));
      notify[2] = (notify[2] & 0x87) | (4 << 3);
      assert.equal((await udpExchange('127.0.0.1', dw.port, notify))![3] & 0xf, 4);
      assert.equal(
        await udpExchange('127.0.0.1', dw.port, Buffer.from([1, 2, 3]), 300),
        null,
        'a 3-byte datagram is dropped',
      );
      const malformed = dw.server.snapshot().malformed;
      const total = Object.values(malformed).reduce((a, b) => a + b, 0);
      assert.ok(total >= 4, JSON.stringify(malformed));
    });
  });

describe('failover, serve-stale and conditional forwarding', () => {
  let primary: UnboundServer;
  let secondary: UnboundServer;
  let corp: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    const records = (ip: string) => [
      `a.example.test. 300 IN A ${ip}`,
      `b.example.test. 300 IN A ${ip}`,
      `c.example.test. 300 IN A ${ip}`,
      `short.example.test. 1 IN A ${ip}`,
    ];
    primary = await UnboundServer.start({ zones: ['example.test'], records: records('192.0.2.1') });
    secondary = await UnboundServer.start({ zones: ['example.test'], records: records('192.0.2.2') });
    corp = await UnboundServer.start({ zones: ['corp.example'], records: ['dc1.corp.example. 300 IN A 10.1.1.1'] });
    dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams:
  policy: failover
  timeout: 500ms
  servers: ["127.0.0.1:${primary.port}", "127.0.0.1:${secondary.port}"]
  healthCheck: { interval: 200ms, timeout: 300ms }
forwardZones:
  - zone: corp.example
    servers: ["127.0.0.1:${corp.port}"]
`);
  });
  after(async () => {
    await dw?.stop();
    for (const u of [primary, secondary, corp]) await u?.stop();
  });

  it('sends a forward zone to its own pool', async () => {
    const r = await dig('127.0.0.1', dw.port, ['dc1.corp.example', 'A']);
    assert.match(r.answers[0], /10\.1\.1\.1$/);
    const withSubnet = await dig('127.0.0.1', dw.port, ['+subnet=192.0.2.0/24', 'dc1.corp.example', 'A']);
    assert.match(withSubnet.answers[0], /10\.1\.1\.1$/, 'a Client Subnet option does not change the route');
    const outside = await dig('127.0.0.1', dw.port, ['dc1.corp.example.test', 'A']);
    assert.notEqual(outside.answers[0]?.endsWith('10.1.1.1'), true, 'corp.example.test is not in corp.example');
  });

  it('uses the first upstream, then fails over when it stops', async () => {
    const first = await dig('127.0.0.1', dw.port, ['a.example.test', 'A']);
    assert.match(first.answers[0], /192\.0\.2\.1$/);
    await primary.stop();
    const second = await dig('127.0.0.1', dw.port, ['b.example.test', 'A']);
    assert.equal(second.status, 'NOERROR');
    assert.match(second.answers[0], /192\.0\.2\.2$/);
    const stopped = dw.server.snapshot().upstreams.find((u) => u.name === `127.0.0.1:${primary.port}`)!;
    assert.ok(
      stopped.errors >= 1,
      `ICMP port unreachable (ECONNREFUSED) was seen, not only timeouts: ${JSON.stringify(stopped)}`,
    );
  });

  it('brings an upstream back when its health checks succeed again', async () => {
    const primaryStats = () => dw.server.snapshot().upstreams.find((u) => u.name === `127.0.0.1:${primary.port}`)!;
    const answersBefore = primaryStats().answers;
    await primary.resume();
    // Two answered probes: the upstream is back, and no refusal from its downtime is still pending.
    for (let i = 0; i < 100 && !(primaryStats().healthy && primaryStats().answers >= answersBefore + 2); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const back = await dig('127.0.0.1', dw.port, ['c.example.test', 'A']);
    assert.match(
      back.answers[0],
      /192\.0\.2\.1$/,
      `failover policy prefers the recovered primary: ${JSON.stringify(dw.server.snapshot().upstreams)}`,
    );
    await primary.stop();
  });

  it('serves stale answers when every upstream is down (RFC 8767)', async () => {
    const fresh = await dig('127.0.0.1', dw.port, ['short.example.test', 'A']);
    assert.equal(fresh.status, 'NOERROR');
    await secondary.stop();
    // The 1-second TTL must run out; bounded wait, not a timing assertion.
    await new Promise((r) => setTimeout(r, 1500));
    const stale = await dig('127.0.0.1', dw.port, ['short.example.test', 'A']);
    assert.equal(stale.status, 'NOERROR');
    assert.match(stale.answers[0], /^short\.example\.test\.\s+30\s+IN\s+A\s+192\.0\.2\.2$/);
    assert.match(stale.raw, /EDE: 3 \(Stale Answer\)/, 'RFC 8914 Stale Answer');
    assert.ok((dw.server.snapshot().responseTypes.stale ?? 0) >= 1);
    const never = await dig('127.0.0.1', dw.port, ['b-never-asked.example.test', 'A']);
    assert.equal(never.status, 'SERVFAIL', 'nothing stale to serve for a name never seen');
    assert.match(never.raw, /EDE: 22 \(No Reachable Authority\)/);
  });
});

describe('upstream over TCP', () => {
  it('forwards every query over TCP when the upstream says protocol: tcp', async () => {
    const unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['tcp.example.test. 300 IN A 192.0.2.66'],
    });
    const dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams:
  servers: [{ address: "127.0.0.1:${unbound.port}", protocol: tcp }]
  healthCheck: { interval: 0 }
`);
    try {
      const r = await dig('127.0.0.1', dw.port, ['tcp.example.test', 'A']);
      assert.match(r.answers[0], /192\.0\.2\.66$/);
      const nx = await dig('127.0.0.1', dw.port, ['nope.example.test', 'A']);
      assert.equal(nx.status, 'NXDOMAIN');
      assert.equal(dw.server.snapshot().upstreams[0].answers, 2);
    } finally {
      await dw.stop();
      await unbound.stop();
    }
  });
});
