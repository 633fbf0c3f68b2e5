/**
 * The real executable under a low descriptor limit: once every descriptor is taken, a UDP
 * upstream socket due for rotation cannot be replaced. dnsward must keep serving on the old
 * socket (never touching a closed one), count the failed opens, and answer every query.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer } from '../helpers/cli.js';
import { firstFreeDescriptor, holdIdleConnections, openDescriptors } from '../helpers/descriptors.js';
import { freePort } from '../helpers/ports.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

// Node needs about 70 to load its modules; below that it cannot start at all.
const DESCRIPTOR_LIMIT = 128;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `names` as A queries from one socket; resolves with the answers by rcode once all came or `waitMs` passed. */
async function burst(port: number, names: string[], waitMs: number): Promise<Map<string, number>> {
  const socket = dgram.createSocket('udp4');
  const rcodes = new Map<string, number>();
  let answered = 0;
  socket.on('message', (msg) => {
    answered++;
    const rcode = RCODES[msg[3] & 0xf] ?? `RCODE${msg[3] & 0xf}`;
    rcodes.set(rcode, (rcodes.get(rcode) ?? 0) + 1);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  for (let i = 0; i < names.length; i++) {
    socket.send(encodeQuery(names[i], 'A', { id: i & 0xffff }), port, '127.0.0.1');
    if (i % 50 === 49) await sleep(5);
  }
  const deadline = Date.now() + waitMs;
  while (answered < names.length && Date.now() < deadline) await sleep(20);
  socket.close();
  return rcodes;
}

describe('upstream sockets when file descriptors run out', () => {
  let unbound: UnboundServer;
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-fd-'));
  before(async () => {
    unbound = await UnboundServer.start({ zones: ['fd.test'], records: ['known.fd.test. 300 IN A 192.0.2.7'] });
  });
  after(async () => {
    await unbound?.stop();
  });

  // native: the batched addon (which crashed on a closed handle); dgram: node:dgram sockets.
  for (const io of ['native', 'dgram'] as const)
    it(`keeps answering on the old socket, counting the failed opens, instead of crashing (${io})`, async () => {
      const port = await freePort();
      const configPath = join(dir, `dnsward-${io}.yaml`);
      writeFileSync(
        configPath,
        `
listen: ["127.0.0.1:${port}"]
dataDir: ${join(dir, `var-${io}`)}
udp: { io: ${io} }
upstreams:
  servers: ["127.0.0.1:${unbound.port}"]
  sockets: 1
  rotateSocketsAfter: 100
  attempts: 1
`,
      );
      const server = CliServer.start(
        ['--console', 'off', '--guard', 'off', '--config', configPath],
        {},
        { openFileLimit: DESCRIPTOR_LIMIT },
      );
      const child = server.child;
      const exited = new Promise<string>((r) =>
        child.once('exit', (code, signal) => r(`code ${code}, signal ${signal}`)),
      );
      const held: net.Socket[] = [];
      try {
        await server.waitForLog('dnsward started');

        // Take every descriptor: a few idle TCP connections, then the limit lowered (prlimit) to
        // the lowest free descriptor number, so that no new one can be had. dnsward fits its
        // connection caps to the limit it starts with, so the limit is cut after start, as another
        // part of the process taking descriptors would.
        held.push(...(await holdIdleConnections(port, 20)));
        await sleep(100);
        const used = openDescriptors(child.pid!);
        assert.ok(used > 20, `dnsward holds ${used} descriptors`);
        const lowestFree = firstFreeDescriptor(child.pid!);
        await promisify(execFile)('prlimit', [
          '--pid',
          String(child.pid),
          `--nofile=${lowestFree}:${DESCRIPTOR_LIMIT}`,
        ]);

        // Unique names: every one goes upstream, and the socket is due for rotation every 100.
        const names = Array.from({ length: 600 }, (_, i) => `n${i}-${Math.random().toString(36).slice(2, 8)}.fd.test`);
        const rcodes = await burst(port, names, 3000);
        assert.equal(
          child.exitCode,
          null,
          `dnsward died during the burst (${await Promise.race([exited, sleep(500).then(() => 'still running')])}):\n${server.log.slice(-2000)}`,
        );
        assert.equal(child.signalCode, null);
        const answered = [...rcodes.values()].reduce((a, b) => a + b, 0);
        assert.ok(
          answered >= names.length * 0.9,
          `answers to the burst: ${JSON.stringify(Object.fromEntries(rcodes))}`,
        );

        for (const s of held) s.destroy();
        held.length = 0;
        await promisify(execFile)('prlimit', [
          '--pid',
          String(child.pid),
          `--nofile=${DESCRIPTOR_LIMIT}:${DESCRIPTOR_LIMIT}`,
        ]);
        await sleep(300);
        const afterwards = await burst(port, ['known.fd.test'], 2000);
        assert.equal(
          afterwards.get('NOERROR'),
          1,
          `after the descriptors came back: ${JSON.stringify(Object.fromEntries(afterwards))}`,
        );

        child.kill('SIGUSR1');
        await server.waitForLog('"msg":"counters"', 1, 2500);
        const line = server.log.split('\n').find((l) => l.includes('"msg":"counters"'));
        assert.ok(line, `no counters logged:\n${server.log.slice(-2000)}`);
        const upstream = JSON.parse(line).counters.upstreams[0];
        assert.ok(
          upstream.socketOpenFailures > 0,
          `socketOpenFailures ${upstream.socketOpenFailures}: ${line} (descriptors used ${used})`,
        );
        assert.equal(upstream.healthy, true, "a local shortage is not the upstream's failure");
      } finally {
        for (const s of held) s.destroy();
        if (child.exitCode === null && child.signalCode === null) await server.stop();
      }
    });
});
