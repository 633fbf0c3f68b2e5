/**
 * `npm run soak`: dnsward with its default configuration in front of a real unbound, held at
 * 80 % of the peak it measured first, for SOAK_SECONDS (default 3600), with a realistic mix:
 * dnsperf sends cached names and new names (9 to 1), a prober asks 20 legitimate names a second
 * and times each one, a synthetic tunnel starts every SOAK_TUNNEL_EVERY seconds (300) and a
 * random-subdomain flood every SOAK_FLOOD_EVERY seconds (600), each for 30 s.
 *
 * Every 10 s it samples dnsward's RSS (all threads), the prober's latency (p50, p99, max) and
 * its unanswered queries, and dnsperf's rate. It writes the samples as JSON and a plot (SVG) to
 * SOAK_OUT (default docs/soak/) and prints a summary; it exits 1 when a legitimate query went
 * unanswered or dnsward stopped. This is a benchmark, not a test: nothing here runs in `npm test`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeQuery } from '../test/helpers/packets.js';
import { freePort } from '../test/helpers/ports.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { allowDomain, maxQps, startProcess, stopProcess } from './dnsperf.js';
import { Prober, quantile } from './prober.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 3600);
const TUNNEL_EVERY = Number(process.env.SOAK_TUNNEL_EVERY ?? 300);
const FLOOD_EVERY = Number(process.env.SOAK_FLOOD_EVERY ?? 600);
const OUT = process.env.SOAK_OUT ?? fileURLToPath(new URL('../../docs/soak/', import.meta.url));
const SAMPLE_S = 10;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dnsward-soak-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  t: number;
  rssMiB: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  probes: number;
  unanswered: number;
  tunnelActive: boolean;
  floodActive: boolean;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** A synthetic tunnel: base32 labels of "payload" to its own domain, 20 a second for `seconds`; returns how many were answered as blocked. */
async function tunnel(port: number, seconds: number, n: number): Promise<{ sent: number; blocked: number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.20', r));
  let blocked = 0;
  socket.on('message', (msg) => {
    // A block answers NXDOMAIN (or REFUSED) with an Extended DNS Error; the tunnel zone answers every name otherwise.
    if ((msg[3] & 0xf) !== 0) blocked++;
  });
  let sent = 0;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  for (let i = 0; i < seconds * 20; i++) {
    let label = '';
    for (let k = 0; k < 50; k++) label += alphabet[Math.floor(Math.random() * 32)];
    socket.send(
      encodeQuery(`${label}.${i.toString(36)}.t${n}.tunnel-soak.test`, 'TXT', { id: i & 0xffff }),
      port,
      '127.0.0.1',
    );
    sent++;
    await sleep(50);
  }
  await sleep(500);
  socket.close();
  return { sent, blocked };
}

/** A random-subdomain flood on one domain from 8 sources, about 2,000 a second for `seconds`. */
async function flood(port: number, seconds: number): Promise<number> {
  const sockets = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, `127.0.0.${30 + i}`, r));
      return s;
    }),
  );
  let sent = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    for (const s of sockets)
      for (let k = 0; k < 5; k++) {
        s.send(
          encodeQuery(`${Math.random().toString(36).slice(2, 14)}.victim-soak.test`, 'A', { id: sent & 0xffff }),
          port,
          '127.0.0.1',
        );
        sent++;
      }
    await sleep(20);
  }
  for (const s of sockets) s.close();
  return sent;
}

function plot(samples: Sample[]): string {
  const w = 900;
  const h = 260;
  const pad = 40;
  const tMax = Math.max(1, samples.at(-1)?.t ?? 1);
  const line = (values: number[], max: number, color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${samples.map((s, i) => `${(pad + (s.t / tMax) * (w - 2 * pad)).toFixed(1)},${(h - pad - (values[i] / Math.max(max, 1e-9)) * (h - 2 * pad)).toFixed(1)}`).join(' ')}"/>`;
  const rss = samples.map((s) => s.rssMiB);
  const p99 = samples.map((s) => s.p99Ms);
  const rssMax = Math.max(...rss) * 1.1;
  const p99Max = Math.max(...p99) * 1.1;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">
<rect width="${w}" height="${h}" fill="white"/>
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>
<text x="${pad}" y="${h - 12}">0 s</text><text x="${w - pad - 40}" y="${h - 12}">${tMax} s</text>
${line(rss, rssMax, '#1f77b4')}${line(p99, p99Max, '#d62728')}
<text x="${pad}" y="16" fill="#1f77b4">RSS (MiB), top = ${rssMax.toFixed(0)}</text>
<text x="${pad + 260}" y="16" fill="#d62728">legitimate p99 (ms), top = ${p99Max.toFixed(2)}</text>
</svg>
`;
}

async function main(): Promise<void> {
  const hitNames = Array.from({ length: 100 }, (_, i) => `h${i}.hit-soak.test`);
  const upstream = await UnboundServer.start({
    zones: ['hit-soak.test', 'victim-soak.test'],
    records: [
      ...hitNames.map((n, i) => `${n}. 3600 IN A 192.0.2.${(i % 250) + 1}`),
      'miss-soak.test. 3600 IN A 192.0.2.254',
      'tunnel-soak.test. 60 IN TXT "ok"',
      'www.victim-soak.test. 3600 IN A 192.0.2.77',
    ],
    extra: [
      'local-zone: "miss-soak.test." redirect',
      'local-zone: "tunnel-soak.test." redirect',
      'num-queries-per-thread: 4096',
      'so-rcvbuf: 4m',
      'so-sndbuf: 4m',
    ],
  });
  const port = await freePort();
  const conf = join(dir, 'dnsward.yaml');
  writeFileSync(
    conf,
    `listen: ["127.0.0.1:${port}"]\ndataDir: ${join(dir, 'var')}\nlog: { level: warn }\nconsole: { listen: null }\nupstreams: { servers: ["127.0.0.1:${upstream.port}"] }\n`,
  );
  const dw: ChildProcess = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], port);
  const pid = dw.pid!;
  allowDomain(CLI, join(dir, 'var'), 'miss-soak.test');
  // The load: 9 cached names to 1 new name.
  const lines: string[] = [];
  for (let i = 0; i < 2_000_000; i++)
    lines.push(i % 10 === 0 ? `s${i.toString(36)}.miss-soak.test A` : `${hitNames[i % 100]} A`);
  const file = join(dir, 'mix.txt');
  writeFileSync(file, lines.join('\n') + '\n');
  const peak = await maxQps(port, file, 10, pid);
  const rate = Math.floor(peak.qps * 0.8);
  console.log(`peak ${peak.qps.toFixed(0)} QPS with the mix; soaking at ${rate} QPS for ${SECONDS} s`);

  const load = spawn(
    'dnsperf',
    [
      '-s',
      '127.0.0.1',
      '-p',
      String(port),
      '-d',
      file,
      '-l',
      String(SECONDS),
      '-Q',
      String(rate),
      '-c',
      '4',
      '-q',
      '500',
      '-S',
      String(SAMPLE_S),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let loadOut = '';
  load.stdout!.on('data', (d) => (loadOut += d));
  const loadDone = new Promise<void>((r) => load.once('exit', () => r()));
  const prober = new Prober(port, { source: '127.0.0.10', missDomain: 'miss-soak.test', hitDomain: 'hit-soak.test' });
  await prober.start();
  const samples: Sample[] = [];
  const events: string[] = [];
  let tunnelActive = false;
  let floodActive = false;
  const started = Date.now();
  let nextTunnel = TUNNEL_EVERY / 5;
  let nextFlood = FLOOD_EVERY / 5;
  let dead = false;
  let stopping = false;
  dw.once('exit', (code, signal) => {
    if (stopping) return;
    dead = true;
    events.push(`dnsward exited during the soak (${code ?? signal})`);
  });
  let tunnels = 0;
  while ((Date.now() - started) / 1000 < SECONDS && !dead) {
    await sleep(SAMPLE_S * 1000);
    const t = Math.round((Date.now() - started) / 1000);
    if (t >= nextTunnel) {
      nextTunnel += TUNNEL_EVERY;
      tunnelActive = true;
      const n = ++tunnels;
      void tunnel(port, 30, n).then((r) => {
        tunnelActive = false;
        events.push(`t=${t}s tunnel ${n}: ${r.blocked} of ${r.sent} queries answered as blocked`);
      });
    }
    if (t >= nextFlood) {
      nextFlood += FLOOD_EVERY;
      floodActive = true;
      void flood(port, 30).then((sent) => {
        floodActive = false;
        events.push(`t=${t}s random-subdomain flood: ${sent} queries`);
      });
    }
    const sample: Sample = { t, rssMiB: dead ? 0 : rssMiB(pid), ...prober.take(), tunnelActive, floodActive };
    samples.push(sample);
    console.log(JSON.stringify(sample));
  }
  prober.stop();
  load.kill('SIGINT');
  await loadDone;
  stopping = true;
  await stopProcess(dw);
  await upstream.stop();

  const unanswered = samples.reduce((n, s) => n + s.unanswered, 0);
  const probes = samples.reduce((n, s) => n + s.probes, 0);
  const rss = samples.map((s) => s.rssMiB);
  const summary = {
    seconds: SECONDS,
    peakQps: Math.round(peak.qps),
    soakQps: rate,
    dnsperf: /Queries per second:\s+([\d.]+)/.exec(loadOut)?.[1] ?? 'n/a',
    dnsperfLost: /Queries lost:\s+(\d+.*)/.exec(loadOut)?.[1] ?? 'n/a',
    probes,
    unanswered,
    p99MsWorst: Math.max(...samples.map((s) => s.p99Ms)),
    p99MsMedian: quantile(
      samples.map((s) => s.p99Ms).sort((a, b) => a - b),
      0.5,
    ),
    rssMiBFirst: rss[0],
    rssMiBLast: rss.at(-1),
    rssMiBMax: Math.max(...rss),
    events,
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'soak.json'), JSON.stringify({ summary, samples }, null, 1) + '\n');
  writeFileSync(join(OUT, 'soak.svg'), plot(samples));
  console.log(JSON.stringify(summary, null, 2));
  process.exitCode = unanswered > 0 || dead ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
