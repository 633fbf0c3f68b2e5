/**
 * Decision propagation in a cluster: two `dnsward serve` processes (A inline, B with one I/O
 * thread, so B's answers come from its block table) and one redis-server, all on loopback.
 *
 * - Operator decisions: the time from sending `quarantine` to A's control socket to B answering
 *   that client's query as quarantined (B is polled every millisecond from the client's address).
 * - Tunnel Guard blocks: the time from A answering a tunnel's query as blocked to B answering a
 *   plain name of that domain as blocked.
 *
 * `node dist/bench/cluster-propagation.js` (needs unbound and redis-server). Prints a Markdown table.
 * BENCH_SAMPLES sets the number of operator decisions (default 50).
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import * as dnsPacket from 'dns-packet';
import { sendControl } from '../src/control/control-client.js';
import { CLI } from '../test/helpers/cli.js';
import { freePort } from '../test/helpers/ports.js';
import { RedisServer } from '../test/helpers/redis.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { startProcess, stopProcess } from './dnsperf.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50);
const TUNNELS = 10;
const POLL_LIMIT_MS = 5000;

function query(name: string, type: dnsPacket.RecordType): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: randomBytes(2).readUInt16BE(),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as dnsPacket.Answer],
  });
}

/** One query from `source`; whether the answer is a Tunnel Guard block or quarantine. */
function blocked(port: number, name: string, type: dnsPacket.RecordType = 'A', source = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(false);
    }, 1000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString('latin1').includes('Tunnel Guard'));
    });
    s.bind(0, source, () => s.send(query(name, type), port, '127.0.0.1'));
  });
}

/** Milliseconds until `check` holds, polling as fast as the checks go. */
async function until(started: number, check: () => Promise<boolean>): Promise<number> {
  while (performance.now() - started < POLL_LIMIT_MS) if (await check()) return performance.now() - started;
  return Number.NaN;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summary(values: number[]): string {
  const ok = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  const lost = values.length - ok.length;
  return `${ok.length} | ${quantile(ok, 0.5).toFixed(1)} | ${quantile(ok, 0.99).toFixed(1)} | ${ok[ok.length - 1].toFixed(1)} | ${lost}`;
}

async function startNode(
  name: string,
  threads: number,
  redis: RedisServer,
  upstream: number,
): Promise<{ child: ChildProcess; port: number; dataDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `dnsward-cluster-bench-${name}-`));
  const port = await freePort();
  const config = join(dir, 'dnsward.yaml');
  writeFileSync(
    config,
    `listen: ["127.0.0.1:${port}"]
upstreams: { servers: ["127.0.0.1:${upstream}"] }
threads: ${threads}
dataDir: "${join(dir, 'data')}"
console: { listen: null }
log: { level: warn }
cluster: { redis: { host: "${redis.url}" }, nodeName: ${name} }
`,
  );
  const child = await startProcess(process.execPath, [CLI, 'serve', '--config', config], port);
  return { child, port, dataDir: join(dir, 'data') };
}

async function main(): Promise<void> {
  const zones = Array.from({ length: TUNNELS }, (_, i) => `t${i}.test`);
  const unbound = await UnboundServer.start({
    zones: ['example.test', ...zones],
    records: ['www.example.test. 300 IN A 192.0.2.10'],
  });
  const redis = await RedisServer.start();
  const a = await startNode('a', 0, redis, unbound.port);
  const b = await startNode('b', 1, redis, unbound.port);
  try {
    // Both nodes connected: a first decision crosses.
    await sendControl(a.dataDir, { cmd: 'quarantine', client: '127.0.2.1', seconds: 600 });
    if (Number.isNaN(await until(performance.now(), () => blocked(b.port, 'www.example.test', 'A', '127.0.2.1'))))
      throw new Error('the nodes do not share decisions');

    const operator: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const client = `127.0.1.${i + 1}`;
      const started = performance.now();
      await sendControl(a.dataDir, { cmd: 'quarantine', client, seconds: 600 });
      operator.push(await until(started, () => blocked(b.port, 'www.example.test', 'A', client)));
    }

    const guard: number[] = [];
    for (const zone of zones) {
      let started = Number.NaN;
      for (let i = 0; i < 60 && Number.isNaN(started); i++) {
        const name = `${randomBytes(25).toString('hex').slice(0, 40)}.${randomBytes(15).toString('hex').slice(0, 24)}.${zone}`;
        if (await blocked(a.port, name, 'TXT')) started = performance.now();
      }
      guard.push(Number.isNaN(started) ? Number.NaN : await until(started, () => blocked(b.port, `www.${zone}`)));
    }

    console.log('| decision (A → B) | samples | median ms | p99 ms | max ms | not seen in 5 s |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    console.log(`| operator quarantine (control socket on A → quarantined answer on B) | ${summary(operator)} |`);
    console.log(`| Tunnel Guard domain block (blocked answer on A → blocked answer on B) | ${summary(guard)} |`);
  } finally {
    await stopProcess(a.child);
    await stopProcess(b.child);
    await redis.stop();
    await unbound.stop();
  }
}

await main();
