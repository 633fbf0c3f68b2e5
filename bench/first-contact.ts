/**
 * First contact with the threaded data plane: what holding tunnel-shaped new names for the
 * brain's verdict costs (latency of such names, benign ones included) and buys (tunnel queries
 * that get through before the block), with holds on (the default) and off (`guard.holdTimeout:
 * 0`), on one and two I/O threads. A tunnel client sends each query from a new source port, as
 * the kernel then spreads it over the threads.
 *
 * `node dist/bench/first-contact.js` (needs unbound). Prints a Markdown table.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { CLI } from '../test/helpers/cli.js';
import { freePort } from '../test/helpers/ports.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { startProcess, stopProcess } from './dnsperf.js';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-first-contact-'));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400);

function query(name: string, type: dnsPacket.RecordType): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: randomBytes(2).readUInt16BE(),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as dnsPacket.Answer],
  });
}

/** One query from a fresh socket; the answer and its round trip in ms. */
function ask(port: number, name: string, type: dnsPacket.RecordType): Promise<{ ms: number; blocked: boolean }> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const started = performance.now();
    const timer = setTimeout(() => {
      s.close();
      resolve({ ms: 2000, blocked: false });
    }, 2000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve({ ms: performance.now() - started, blocked: m.toString('latin1').includes('Tunnel Guard') });
    });
    s.send(query(name, type), port, '127.0.0.1');
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function run(upstreamPort: number, threads: number, holdTimeout: string) {
  const port = await freePort();
  const conf = join(dir, `dw-${threads}-${holdTimeout}.yaml`);
  writeFileSync(
    conf,
    `listen: ["127.0.0.1:${port}"]\nthreads: ${threads}\ndataDir: ${join(dir, `var-${threads}-${holdTimeout}-${Date.now()}`)}\nlog: { level: warn }\nconsole: { listen: null }\nupstreams: { servers: ["127.0.0.1:${upstreamPort}"] }\nguard: { holdTimeout: ${holdTimeout} }\n`,
  );
  const child = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], port);
  try {
    // Latency: new benign names with a long label (a CDN hash, an antivirus lookup), each on a
    // site of its own, held on first contact, against short new names, which never are.
    const long: number[] = [];
    const short: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      long.push((await ask(port, `${randomBytes(16).toString('hex')}.site${i}.test`, 'A')).ms);
      short.push((await ask(port, `www.page${i}.test`, 'A')).ms);
    }
    // Leak: tunnel queries (40 characters of payload, TXT) answered before the first block.
    const leaks: number[] = [];
    for (let t = 0; t < 5; t++) {
      let leaked = 0;
      for (let i = 0; i < 200; i++) {
        const r = await ask(
          port,
          `${randomBytes(20).toString('hex')}.${randomBytes(12).toString('hex')}.tunnel${t}.test`,
          'TXT',
        );
        if (r.blocked) break;
        leaked++;
      }
      leaks.push(leaked);
    }
    return {
      threads,
      holdTimeout,
      longP50: pct(long, 50),
      longP99: pct(long, 99),
      shortP50: pct(short, 50),
      shortP99: pct(short, 99),
      leaks,
    };
  } finally {
    await stopProcess(child);
  }
}

async function main(): Promise<void> {
  // Unbound refuses every name here (local-zone "." refuse): the answer's speed is not the point.
  const upstream = await UnboundServer.start({ zones: ['bench.test'], records: [] });
  const rows = [];
  for (const [threads, hold] of [
    [1, '50ms'],
    [1, '0'],
    [2, '50ms'],
    [2, '0'],
  ] as const)
    rows.push(await run(upstream.port, threads, hold));
  await upstream.stop();
  console.log(
    `\n## First contact: holds on vs off, ${SAMPLES} sequential queries per kind, ${new Date().toISOString()}\n`,
  );
  console.log(
    '| I/O threads | guard.holdTimeout | long-label new name p50 / p99 ms | short new name p50 / p99 ms | tunnel queries answered before the block (5 tunnels) |',
  );
  console.log('| ---: | ---: | ---: | ---: | --- |');
  for (const r of rows)
    console.log(
      `| ${r.threads} | ${r.holdTimeout} | ${r.longP50.toFixed(3)} / ${r.longP99.toFixed(3)} | ${r.shortP50.toFixed(3)} / ${r.shortP99.toFixed(3)} | ${r.leaks.join(', ')} |`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
