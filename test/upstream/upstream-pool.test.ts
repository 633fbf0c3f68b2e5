/**
 * Anti-spoofing and retries, against a scripted fake upstream (node:dgram). No real resolver
 * can be told to send forged answers, so this one part is mocked.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { loadNativeUdp, type NativeUdpBatch, nativeUdpFailure } from '../../src/net/native-udp.js';
import { UpstreamPool } from '../../src/upstream/upstream-pool.js';
import { resolveThrough as resolve } from '../helpers/upstream-pool.js';

type Script = (query: dnsPacket.Packet, reply: (p: Partial<dnsPacket.Packet> & { id: number }) => void) => void;

async function fakeUpstream(
  script: Script,
): Promise<{ port: number; close: () => void; queries: number[]; sourcePorts: number[] }> {
  const socket = dgram.createSocket('udp4');
  const queries: number[] = [];
  const sourcePorts: number[] = [];
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    queries.push(q.id!);
    sourcePorts.push(rinfo.port);
    script(q, (p) =>
      socket.send(
        dnsPacket.encode({ type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, ...p }),
        rinfo.port,
        rinfo.address,
      ),
    );
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { port: socket.address().port, close: () => socket.close(), queries, sourcePorts };
}

let native: NativeUdpBatch | null = null;

function pool(
  ports: number[],
  policy: 'failover' | 'round-robin' | 'least-outstanding' = 'failover',
  timeoutMs = 300,
  rotateSocketsAfter = 1000,
): UpstreamPool {
  return new UpstreamPool(
    {
      name: 'test',
      policy,
      timeoutMs,
      attempts: 3,
      upstreams: ports.map((port) => ({
        address: { host: '127.0.0.1', port, family: 4 as const },
        protocol: 'udp' as const,
        sockets: 2,
        rotateSocketsAfter,
        tcpIdleMs: 1000,
        maxFailures: 2,
        native,
      })),
    },
    () => {},
  );
}

// Both upstream socket kinds: batched native and node:dgram.
for (const io of ['native', 'dgram'] as const)
  describe(`UpstreamPool (${io} sockets)`, () => {
    const cleanup: (() => void)[] = [];
    before(() => {
      native = io === 'native' ? loadNativeUdp() : null;
      if (io === 'native') assert.ok(native, `the native addon must load here: ${nativeUdpFailure()}`);
    });
    after(() => cleanup.forEach((c) => c()));

    it("uses random query IDs, not the client's", async () => {
      const up = await fakeUpstream((q, reply) =>
        reply({ id: q.id!, answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data: '192.0.2.1' }] }),
      );
      const p = pool([up.port]);
      cleanup.push(up.close, () => p.close());
      for (let i = 0; i < 20; i++) assert.equal((await resolve(p, `r${i}.example`)).error, null);
      assert.ok(up.queries.filter((id) => id === 4321).length <= 1, 'client ID passed through');
      assert.ok(new Set(up.queries).size >= 18, `IDs repeat: ${up.queries}`);
    });

    it('moves to new random source ports as sockets rotate', async () => {
      const up = await fakeUpstream((q, reply) => reply({ id: q.id!, answers: [] }));
      const p = pool([up.port], 'failover', 300, 5);
      cleanup.push(up.close, () => p.close());
      for (let i = 0; i < 60; i++) assert.equal((await resolve(p, `port${i}.example`)).error, null);
      assert.ok(new Set(up.sourcePorts).size >= 6, `source ports used: ${[...new Set(up.sourcePorts)]}`);
    });

    it('ignores answers with a wrong ID or a wrong question, and takes the genuine one', async () => {
      const up = await fakeUpstream((q, reply) => {
        reply({
          id: (q.id! + 1) & 0xffff,
          answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data: '6.6.6.6' }],
        });
        reply({
          id: q.id!,
          questions: [{ type: 'A', name: 'evil.example', class: 'IN' }],
          answers: [{ type: 'A', name: 'evil.example', ttl: 60, data: '6.6.6.7' }],
        });
        setTimeout(
          () => reply({ id: q.id!, answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data: '192.0.2.99' }] }),
          20,
        );
      });
      const p = pool([up.port]);
      cleanup.push(up.close, () => p.close());
      const { error, answer } = await resolve(p, 'victim.example');
      assert.equal(error, null);
      const decoded = dnsPacket.decode(answer!);
      assert.equal((decoded.answers![0] as { data: string }).data, '192.0.2.99');
      assert.equal(p.upstreams[0].stats.mismatched, 2);
    });

    it('retries on another upstream after a timeout, and marks the silent one down', async () => {
      const silent = await fakeUpstream(() => {});
      const good = await fakeUpstream((q, reply) =>
        reply({ id: q.id!, answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data: '192.0.2.2' }] }),
      );
      const p = pool([silent.port, good.port], 'failover', 200);
      cleanup.push(silent.close, good.close, () => p.close());
      for (let i = 0; i < 3; i++) assert.equal((await resolve(p, `t${i}.example`)).error, null);
      assert.equal(p.upstreams[0].healthy, false);
      assert.equal(p.upstreams[0].stats.timeouts, 2, 'after two timeouts the silent upstream is skipped');
    });

    it('sends to the upstream with the fewest queries in flight (least-outstanding)', async () => {
      const slow = await fakeUpstream((q, reply) => setTimeout(() => reply({ id: q.id!, answers: [] }), 2500));
      const fast = await fakeUpstream((q, reply) => reply({ id: q.id!, answers: [] }));
      const p = pool([slow.port, fast.port], 'least-outstanding', 4000);
      cleanup.push(slow.close, fast.close, () => p.close());
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        all.push(resolve(p, `lo${i}.example`));
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all(all);
      assert.equal(
        slow.queries.length,
        1,
        'only the first query went to the slow upstream, while it had one in flight',
      );
      assert.equal(fast.queries.length, 9);
    });

    it('spreads queries in round-robin', async () => {
      const a = await fakeUpstream((q, reply) => reply({ id: q.id!, answers: [] }));
      const b = await fakeUpstream((q, reply) => reply({ id: q.id!, answers: [] }));
      const p = pool([a.port, b.port], 'round-robin');
      cleanup.push(a.close, b.close, () => p.close());
      for (let i = 0; i < 10; i++) await resolve(p, `rr${i}.example`);
      assert.equal(a.queries.length, 5);
      assert.equal(b.queries.length, 5);
    });
  });
