/**
 * The threaded data plane from config text: two I/O threads behind one UDP port (SO_REUSEPORT),
 * the brain on the main thread. A tunnel client that uses a new source port per query (so the
 * kernel spreads it over both threads) is cut as fast as on one thread; a block the brain
 * decides is answered by every thread; operator commands reach every thread through the table;
 * a brain that stops consuming leaves DNS answering (holds time out, a full ring drops
 * summaries, both counted); a dead I/O thread is replaced.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { udpExchange } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';
import type { ServerSnapshot } from '../../src/ops/server-snapshot.js';

type Answer = { rcode: string; ede: string };

function decode(buf: Buffer | null): Answer | null {
  if (buf === null) return null;
  const m = dnsPacket.decode(buf) as dnsPacket.Packet & { rcode?: string };
  const opt = (m.additionals ?? []).find((a) => a.type === 'OPT') as
    { options?: Array<{ code: number; data?: Buffer }> } | undefined;
  const ede =
    opt?.options
      ?.find((o) => o.code === 15)
      ?.data?.subarray(2)
      .toString() ?? '';
  return { rcode: m.rcode ?? 'NOERROR', ede };
}

/** One query from a fresh socket (a new source port: the kernel picks the thread by it). */
async function ask(
  port: number,
  name: string,
  type: dnsPacket.RecordType = 'A',
  timeoutMs = 2000,
): Promise<Answer | null> {
  return decode(
    await udpExchange(
      '127.0.0.1',
      port,
      encodeQuery(name, type, { edns: true, id: randomBytes(2).readUInt16BE() }),
      timeoutMs,
    ),
  );
}

/** A tunnel-shaped name: 40 base32-ish characters of payload in long labels. */
const tunnelName = (zone: string) =>
  `${randomBytes(25).toString('hex').slice(0, 40)}.${randomBytes(15).toString('hex').slice(0, 24)}.${zone}`;

/** The snapshot once the threads' reports satisfy `ok` (they report every half second). */
async function snapshotWhen(dw: RunningDnsward, ok: (s: ServerSnapshot) => boolean): Promise<ServerSnapshot> {
  let s = dw.server.snapshot();
  for (let i = 0; i < 60 && !ok(s); i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = dw.server.snapshot();
  }
  return s;
}

describe('threaded data plane (two I/O threads, one brain)', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test', 'tunnel.test', 'other.test', 'third.test', 'bulk.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(`listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
threads: 2
guard: { ringSize: 1024, holdTimeout: 1s }
queryLog: { mode: all }
`);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('answers on both threads', async () => {
    for (let i = 0; i < 40; i++) assert.equal((await ask(dw.port, 'www.example.test'))?.rcode, 'NOERROR');
    const s = await snapshotWhen(dw, (x) => (x.plane?.perThread.reduce((n, t) => n + t.queries, 0) ?? 0) >= 40);
    assert.equal(s.plane?.threads, 2);
    assert.equal(s.plane?.perThread.length, 2);
    for (const t of s.plane!.perThread)
      assert.ok(t.queries > 0, `thread ${t.index} got no query: ${JSON.stringify(s.plane!.perThread)}`);
  });

  it('cuts a tunnel spread over both threads within 10 queries, and every thread answers the block', async () => {
    let first = -1;
    for (let i = 0; i < 60; i++) {
      const a = await ask(dw.port, tunnelName('tunnel.test'), 'TXT');
      if (first === -1 && a?.ede.includes('Tunnel Guard')) first = i;
    }
    assert.ok(first >= 0 && first < 10, `first blocked query: ${first}`);
    const s = await snapshotWhen(dw, (x) => x.plane?.perThread.every((t) => t.blocked > 0) ?? false);
    for (const t of s.plane!.perThread)
      assert.ok(t.blocked > 0, `thread ${t.index} answered no block: ${JSON.stringify(s.plane!.perThread)}`);
    const blocks = dw.server.control({ cmd: 'blocks', who: 'test' }) as { blocks: Array<{ domain: string }> };
    assert.ok(blocks.blocks.some((b) => b.domain === 'tunnel.test'));
    // Benign names on the same threads are untouched.
    assert.equal((await ask(dw.port, 'www.example.test'))?.rcode, 'NOERROR');
  });

  it("applies an operator's allow and quarantine on every thread at once", async () => {
    dw.server.control({ cmd: 'allow', who: 'test', domain: 'tunnel.test', seconds: 600 });
    for (let i = 0; i < 10; i++)
      assert.equal(
        (await ask(dw.port, `x${i}.tunnel.test`))?.ede.includes('Tunnel Guard'),
        false,
        'allowed on every thread',
      );
    dw.server.control({ cmd: 'quarantine', who: 'test', client: '127.0.0.1', seconds: 600 });
    for (let i = 0; i < 10; i++) {
      const a = await ask(dw.port, 'www.example.test');
      assert.equal(a?.rcode, 'REFUSED');
      assert.match(a?.ede ?? '', /quarantined/);
    }
    dw.server.control({ cmd: 'release', who: 'test', client: '127.0.0.1' });
    for (let i = 0; i < 10; i++) assert.equal((await ask(dw.port, 'www.example.test'))?.rcode, 'NOERROR');
  });

  it("writes every thread's queries to the one query log", async () => {
    const before = (await dw.server.queryLog.queries({ limit: 10_000 })).length;
    for (let i = 0; i < 20; i++) await ask(dw.port, `ql${i}.example.test`);
    let rows = before;
    for (let i = 0; i < 50 && rows < before + 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = (await dw.server.queryLog.queries({ limit: 10_000 })).length;
    }
    assert.ok(rows >= before + 20, `${rows - before} of 20 queries logged`);
  });

  it('fails open when the brain stops consuming: held queries go on after the hold, a full ring drops summaries, DNS answers throughout', async () => {
    const brain = dw.server.brain!;
    await brain.stop();
    try {
      const before = dw.server.snapshot().plane!;
      // Tunnel-shaped names are held, then let through unweighed (counted).
      for (let i = 0; i < 5; i++) assert.ok(await ask(dw.port, tunnelName('other.test'), 'TXT', 3000), 'answered');
      // More summaries than the ring holds (1024 per thread, two threads): the rest are dropped.
      // Under a domain of their own: 2,400 new names from one client to one domain is a stream
      // Tunnel Guard blocks once it weighs them again, and later tests ask example.test.
      const batch = 200;
      for (let sent = 0; sent < 2400; sent += batch) {
        const answers = await Promise.all(
          Array.from({ length: batch }, (_, i) => ask(dw.port, `n${sent + i}.bulk.test`)),
        );
        assert.equal(answers.filter((a) => a !== null).length, batch, 'every query answered');
      }
      const s = await snapshotWhen(
        dw,
        (x) => x.plane!.summariesDropped > before.summariesDropped && x.plane!.holdTimeouts >= before.holdTimeouts + 5,
      );
      assert.ok(s.plane!.holdTimeouts >= before.holdTimeouts + 5, `hold timeouts ${s.plane!.holdTimeouts}`);
      assert.ok(s.plane!.summariesDropped > before.summariesDropped, `summaries dropped ${s.plane!.summariesDropped}`);
    } finally {
      brain.start();
    }
    // Back, the brain reads what the rings kept and weighs new names again.
    const s = await snapshotWhen(dw, (x) => x.plane!.brainBacklog === 0);
    assert.equal(s.plane!.brainBacklog, 0);
    let first = -1;
    for (let i = 0; i < 40 && first === -1; i++)
      if ((await ask(dw.port, tunnelName('third.test'), 'TXT'))?.ede.includes('Tunnel Guard')) first = i;
    assert.ok(first >= 0 && first < 10, `first blocked query after the brain came back: ${first}`);
  });

  it('replaces an I/O thread that dies; DNS answers meanwhile and after', async () => {
    const pool = (dw.server as unknown as { pool: { kill(i: number): Promise<void> } }).pool;
    await pool.kill(1);
    for (let i = 0; i < 20; i++) assert.equal((await ask(dw.port, 'www.example.test'))?.rcode, 'NOERROR');
    const s = await snapshotWhen(dw, (x) => x.plane!.threadRestarts >= 1 && x.plane!.perThread.length === 2);
    assert.equal(s.plane!.threadRestarts, 1);
    assert.equal(s.plane!.perThread.length, 2);
    for (let i = 0; i < 20; i++) assert.equal((await ask(dw.port, 'www.example.test'))?.rcode, 'NOERROR');
  });
});
