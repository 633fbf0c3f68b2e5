/**
 * Hostile input against a running dnsward: thousands of random and mutated datagrams and TCP
 * frames. It must answer what it can (FORMERR/NOTIMP), drop the rest, count them, and keep
 * serving. Loops are bounded in count.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { dig } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

const packets = fc
  .sample(
    fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 600 }),
      fc
        .tuple(
          fc.constantFrom('a.example.test', 'x.y.z.example.test', 'example.test'),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          fc.nat(40),
        )
        .map(([name, mutations, cut]) => {
          const b = Buffer.from(encodeQuery(name, 'A', { edns: true }));
          for (const [at, v] of mutations) b[at % b.length] = v;
          return b.subarray(0, Math.max(0, b.length - cut));
        }),
    ),
    { numRuns: 3000, seed: 20261128 },
  )
  .map((p) => Buffer.from(p));

for (const io of ['native', 'dgram'] as const)
  describe(`malformed traffic (udp.io: ${io})`, () => {
    let unbound: UnboundServer;
    let dw: RunningDnsward;

    before(async () => {
      unbound = await UnboundServer.start({ zones: ['example.test'], records: ['a.example.test. 300 IN A 192.0.2.1'] });
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nudp: { io: ${io} }\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\n`,
      );
    });
    after(async () => {
      await dw?.stop();
      await unbound?.stop();
    });

    it('survives 3000 random and mutated datagrams and keeps answering', async () => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
      let replies = 0;
      socket.on('message', () => replies++);
      for (let i = 0; i < packets.length; i++) {
        socket.send(packets[i], dw.port, '127.0.0.1');
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // pace: loopback buffers are finite
      }
      await new Promise((r) => setTimeout(r, 1000));
      socket.close();
      const snapshot = dw.server.snapshot();
      const malformed = Object.values(snapshot.malformed).reduce((a, b) => a + b, 0);
      assert.ok(malformed > 1000, `malformed counted: ${malformed}`);
      assert.ok(replies > 500, `answered what could be answered: ${replies}`);
      assert.equal(snapshot.stageErrors, 0);
      const ok = await dig('127.0.0.1', dw.port, ['a.example.test', 'A']);
      assert.match(ok.answers[0], /192\.0\.2\.1$/);
    });

    it('survives garbage TCP frames, closing only the offending connections', async () => {
      for (let i = 0; i < 200; i++) {
        const socket = net.connect({ host: '127.0.0.1', port: dw.port });
        await new Promise<void>((resolve) => {
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.on('connect', () => {
            const p = packets[i];
            const frame = Buffer.concat([
              Buffer.from([p.length >> 8, p.length & 0xff]),
              p,
              i % 2 ? Buffer.from([0, 0]) : Buffer.alloc(0),
            ]);
            socket.end(frame);
          });
          socket.resume();
          setTimeout(() => socket.destroy(), 2000).unref();
        });
      }
      assert.equal(dw.server.snapshot().stageErrors, 0);
      const ok = await dig('127.0.0.1', dw.port, ['+tcp', 'a.example.test', 'A']);
      assert.match(ok.answers[0], /192\.0\.2\.1$/);
    });
  });
