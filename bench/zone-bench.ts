/**
 * Local-zone answers, dnsward against NSD serving the same master file (the zone and probes of
 * test/zones/nsd-differential.test.ts: NAPTR, SRV, MX, PTR, wildcards, CNAME chains, NXDOMAIN,
 * NODATA): dnsperf at a fixed offered load (`-c 4 -q 200`) against each, interleaved, so a
 * machine busy for a moment weighs on both. dnsward runs `serve` with one I/O thread; NSD one
 * server process, `minimal-responses`, its response-rate limiting off (at 200 a second it drops
 * a benchmark).
 *
 * `node dist/bench/zone-bench.js` (needs nsd, unbound, dnsperf). BENCH_SECONDS (default 5) per
 * run, BENCH_ROUNDS (default 2). Prints a Markdown table and the ratio.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/cli.js';
import { FIVE_G_ZONE, PROBES } from '../test/helpers/five-g-zone.js';
import { NsdServer } from '../test/helpers/nsd.js';
import { freePort } from '../test/helpers/ports.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { dnsperf, startProcess, stopProcess } from './dnsperf.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Math.min(Number(process.env.BENCH_ROUNDS ?? 2), 10);

interface Run {
  qps: number;
  lost: number;
}

async function measure(port: number, queries: string): Promise<Run> {
  const out = await dnsperf(port, queries, SECONDS, ['-c', '4', '-q', '200']);
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-zone-bench-'));
  const zoneFile = join(dir, '5gc.example.zone');
  writeFileSync(zoneFile, FIVE_G_ZONE);
  const queries = join(dir, 'queries.txt');
  writeFileSync(queries, PROBES.map(([name, type]) => `${name} ${type}`).join('\n') + '\n');

  // An upstream for the rare name outside the zone (a CNAME's target); dnsperf never asks one.
  const unbound = await UnboundServer.start({ zones: [], records: [] });
  const nsd = await NsdServer.start([{ name: '5gc.example', file: zoneFile }]);
  const port = await freePort();
  const conf = join(dir, 'dnsward.yaml');
  writeFileSync(
    conf,
    `listen: ["127.0.0.1:${port}"]\nthreads: 1\ndataDir: ${join(dir, 'var')}\nlog: { level: warn }\nconsole: { listen: null }\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nzones:\n  - name: 5gc.example\n    file: ${zoneFile}\n`,
  );
  const dnsward = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], port);
  const runs: { nsd: Run[]; dnsward: Run[] } = { nsd: [], dnsward: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always meets a machine warmed or tired by the other.
      const order = round % 2 === 0 ? (['nsd', 'dnsward'] as const) : (['dnsward', 'nsd'] as const);
      for (const which of order) runs[which].push(await measure(which === 'nsd' ? nsd.port : port, queries));
    }
  } finally {
    await stopProcess(dnsward);
    await nsd.stop();
    await unbound.stop();
  }
  const row = (label: string, rs: Run[]) =>
    `| ${label} | ${rs.map((r) => Math.round(r.qps).toLocaleString('en-US')).join(' / ')} | ${rs.map((r) => r.lost).join(' / ')} |`;
  console.log(`| server | QPS, run ${Array.from({ length: ROUNDS }, (_, i) => i + 1).join(' / ')} | lost |`);
  console.log('| --- | ---: | ---: |');
  console.log(row('NSD, one server process', runs.nsd));
  console.log(row('dnsward local zones, one I/O thread', runs.dnsward));
  const ratios = runs.dnsward.map((r, i) => r.qps / runs.nsd[i].qps);
  console.log(`\ndnsward / NSD per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
}

await main();
