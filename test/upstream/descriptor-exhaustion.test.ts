/**
 * The real executable under a low descriptor limit: once every descriptor is taken, a UDP
 * upstream socket due for rotation cannot be replaced. dnsward must keep serving on the old
 * socket (never touching a closed one), count the failed opens, and answer every query.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

// Node needs about 70 to load its modules; below that it cannot start at all.
const DESCRIPTOR_LIMIT = 128;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Descriptors in use. */
function openDescriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** The lowest descriptor number the process does not use: a limit at it leaves none to open. */
function firstFreeDescriptor(pid: number): number {
  const inUse = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
  let n = 0;
  while (inUse.has(n)) n++;
  return n;
}

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
  for (const io of ['native', 'dgram'] as const) it(`keeps answering on the old socket, counting the failed opens, instead of crashing (${io})`, async () => {
    const port = await freePort();
    const configPath = join(dir, `dnsward-${io}.yaml`);
    writeFileSync(configPath, `
listen: ["127.0.0.1:${port}"]
dataDir: ${join(dir, `var-${io}`)}
udp: { io: ${io} }
upstreams:
  servers: ["127.0.0.1:${unbound.port}"]
  sockets: 1
  rotateSocketsAfter: 100
  attempts: 1
`);
    // exec: the shell becomes node, so child.pid is dnsward's own.
    const child: ChildProcess = spawn('sh', ['-c', `ulimit -n ${DESCRIPTOR_LIMIT}; exec "$0" "$@"`, process.execPath, CLI, 'serve', '--console', 'off', '--guard', 'off', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(`code ${code}, signal ${signal}`)));
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 100 && !log.includes('dnsward started'); i++) {
        assert.equal(child.exitCode, null, `dnsward exited at start:\n${log}`);
        await sleep(100);
      }
      assert.ok(log.includes('dnsward started'), `dnsward did not start:\n${log}`);

      // Take every descriptor: a few idle TCP connections, then the limit lowered (prlimit) to
      // the lowest free descriptor number, so that no new one can be had. dnsward fits its
      // connection caps to the limit it starts with, so the limit is cut after start, as another
      // part of the process taking descriptors would.
      for (let i = 0; i < 20; i++) {
        const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}` });
        socket.on('error', () => {});
        held.push(socket);
        await new Promise((r) => socket.once('connect', r).once('close', r));
      }
      await sleep(100);
      const used = openDescriptors(child.pid!);
      assert.ok(used > 20, `dnsward holds ${used} descriptors`);
      const lowestFree = firstFreeDescriptor(child.pid!);
      await promisify(execFile)('prlimit', ['--pid', String(child.pid), `--nofile=${lowestFree}:${DESCRIPTOR_LIMIT}`]);

      // Unique names: every one goes upstream, and the socket is due for rotation every 100.
      const names = Array.from({ length: 600 }, (_, i) => `n${i}-${Math.random().toString(36).slice(2, 8)}.fd.test`);
      const rcodes = await burst(port, names, 3000);
      assert.equal(child.exitCode, null, `dnsward died during the burst (${await Promise.race([exited, sleep(500).then(() => 'still running')])}):\n${log.slice(-2000)}`);
      assert.equal(child.signalCode, null);
      const answered = [...rcodes.values()].reduce((a, b) => a + b, 0);
      assert.ok(answered >= names.length * 0.9, `answers to the burst: ${JSON.stringify(Object.fromEntries(rcodes))}`);

      for (const s of held) s.destroy();
      held.length = 0;
      await promisify(execFile)('prlimit', ['--pid', String(child.pid), `--nofile=${DESCRIPTOR_LIMIT}:${DESCRIPTOR_LIMIT}`]);
      await sleep(300);
      const afterwards = await burst(port, ['known.fd.test'], 2000);
      assert.equal(afterwards.get('NOERROR'), 1, `after the descriptors came back: ${JSON.stringify(Object.fromEntries(afterwards))}`);

      child.kill('SIGUSR1');
      for (let i = 0; i < 50 && !log.includes('"msg":"counters"'); i++) await sleep(50);
      const line = log.split('\n').find((l) => l.includes('"msg":"counters"'));
      assert.ok(line, `no counters logged:\n${log.slice(-2000)}`);
      const upstream = JSON.parse(line).counters.upstreams[0];
      assert.ok(upstream.socketOpenFailures > 0, `socketOpenFailures ${upstream.socketOpenFailures}: ${line} (descriptors used ${used})`);
      assert.equal(upstream.healthy, true, 'a local shortage is not the upstream\'s failure');
    } finally {
      for (const s of held) s.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
      }
    }
  });
});
