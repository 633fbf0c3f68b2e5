/**
 * A legitimate client's latency under a flood from 200 sources, each at ten times a legitimate
 * client's rate (target: p99 at most 2× its unloaded value). dnsward runs its executable with
 * per-client rate limits on (`defence.clientRate`, drop), in front of a real unbound. Three
 * phases of PHASE_S seconds: unloaded (ten legitimate clients at LEGIT_PER_S each, plus the
 * prober), the same with the flood, and after it. The prober (bench/prober.ts, 20 queries a
 * second, one in ten a new name) is timed throughout. Prints one line per phase and the ratio.
 */
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boundUdpSocket } from '../test/helpers/dns-client.js';
import { encodeQuery } from '../test/helpers/packets.js';
import { freePort } from '../test/helpers/ports.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { startProcess, stopProcess } from './dnsperf.js';
import { Prober } from './prober.js';

const PHASE_S = Number(process.env.FLOOD_PHASE_S ?? 20);
const FLOODERS = 200;
const LEGIT_CLIENTS = 10;
const LEGIT_PER_S = 10;
/** Each flooder sends ten times a legitimate client's rate: 20,000 queries a second in all. */
const FLOOD_PER_S = LEGIT_PER_S * 10;
const TICK_MS = 10;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client's socket; its answers are read and dropped (the prober times the legitimate ones). */
async function bound(address: string): Promise<dgram.Socket> {
  const s = await boundUdpSocket(address);
  s.on('message', () => {});
  return s;
}

/** Sends `perSecond` queries a second from each socket until `stop()` is true (bounded by PHASE_S × 3). */
async function send(
  sockets: dgram.Socket[],
  perSecond: number,
  port: number,
  name: (i: number) => string,
  stop: () => boolean,
): Promise<number> {
  const perTick = (perSecond * TICK_MS) / 1000;
  let owed = 0;
  let sent = 0;
  const deadline = Date.now() + PHASE_S * 3000;
  while (!stop() && Date.now() < deadline) {
    owed += perTick;
    const now = Math.floor(owed);
    owed -= now;
    for (const s of sockets)
      for (let k = 0; k < now; k++) {
        s.send(encodeQuery(name(sent), 'A', { id: sent & 0xffff }), port, '127.0.0.1');
        sent++;
      }
    await sleep(TICK_MS);
  }
  return sent;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-flood-latency-'));
  const hits = Array.from({ length: 100 }, (_, i) => `h${i}.hit-flood.test. 3600 IN A 192.0.2.${(i % 250) + 1}`);
  const upstream = await UnboundServer.start({
    zones: ['hit-flood.test', 'target-flood.test'],
    records: [...hits, 'miss-flood.test. 3600 IN A 192.0.2.254', 'www.target-flood.test. 3600 IN A 192.0.2.66'],
    extra: ['local-zone: "miss-flood.test." redirect', 'num-queries-per-thread: 4096', 'so-rcvbuf: 4m'],
  });
  const port = await freePort();
  const conf = join(dir, 'dnsward.yaml');
  writeFileSync(
    conf,
    `listen: ["127.0.0.1:${port}"]\ndataDir: ${join(dir, 'var')}\nlog: { level: warn }\nconsole: { listen: null }\nupstreams: { servers: ["127.0.0.1:${upstream.port}"] }\ndefence: { clientRate: { enabled: true, rate: 20, burst: 40, action: drop } }\n`,
  );
  const dw = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], port);
  const prober = new Prober(port, { source: '127.0.0.10', hitDomain: 'hit-flood.test', missDomain: 'miss-flood.test' });
  const legit = await Promise.all(Array.from({ length: LEGIT_CLIENTS }, (_, i) => bound(`127.0.4.${i + 1}`)));
  const flooders = await Promise.all(Array.from({ length: FLOODERS }, (_, i) => bound(`127.0.5.${i + 1}`)));
  const results: Array<{ phase: string; p50Ms: number; p99Ms: number; probes: number; unanswered: number }> = [];
  try {
    await prober.start();
    let legitDone = false;
    const legitLoad = send(
      legit,
      LEGIT_PER_S,
      port,
      (i) => `h${i % 100}.hit-flood.test`,
      () => legitDone,
    );
    await sleep(2000); // caches warm
    prober.take();
    for (const phase of ['unloaded', 'flood', 'after'] as const) {
      let phaseDone = false;
      const flood =
        phase === 'flood'
          ? send(
              flooders,
              FLOOD_PER_S,
              port,
              () => 'www.target-flood.test',
              () => phaseDone,
            )
          : Promise.resolve(0);
      await sleep(PHASE_S * 1000);
      phaseDone = true;
      const floodSent = await flood;
      const r = prober.take();
      results.push({ phase, ...r });
      console.log(
        `${phase}: prober p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms over ${r.probes} probes, ${r.unanswered} unanswered${phase === 'flood' ? `; flood ${floodSent} queries from ${FLOODERS} sources (${Math.round(floodSent / PHASE_S)}/s)` : ''}`,
      );
    }
    legitDone = true;
    await legitLoad;
  } finally {
    prober.stop();
    for (const s of [...legit, ...flooders]) s.close();
    await stopProcess(dw);
    await upstream.stop();
  }
  const [unloaded, flood] = results;
  console.log(
    `legitimate p99 under a 10x flood from ${FLOODERS} sources: ${flood.p99Ms.toFixed(2)} ms vs ${unloaded.p99Ms.toFixed(2)} ms unloaded = ${(flood.p99Ms / unloaded.p99Ms).toFixed(2)}x (target <= 2x); unanswered ${flood.unanswered}`,
  );
}

await main();
