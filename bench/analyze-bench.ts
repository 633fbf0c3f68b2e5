/**
 * `dnsward analyze` throughput on JSONL (target: at least 200k queries/s on one thread),
 * and Tunnel Guard's own cost per query (target: median at most 5 µs). Input: 1M generated
 * benign queries with tunnel sessions mixed in, written to a temporary file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/analyze/analysis.js';
import { labelsFromText } from '../src/guard/name-text.js';
import { TunnelGuard } from '../src/guard/tunnel-guard.js';
import { generateBenignTraffic } from '../eval/traffic/benign-traffic.js';
import { Random } from '../eval/traffic/random.js';
import { dnscat2, iodineLike } from '../eval/traffic/synthetic-tunnels.js';

const START = 1_700_000_000;
const benign = generateBenignTraffic({
  seed: 99,
  clients: 120,
  mailServers: 2,
  start: START,
  durationSeconds: 12 * 3600,
  queriesPerHour: 280,
});
const rng = new Random(5);
const tunnel = [
  ...dnscat2({ rng, client: '10.99.0.1', start: START + 600 }).queries,
  ...iodineLike({ rng, client: '10.99.0.2', start: START + 900 }, 'base32').queries,
];
const all = [...benign, ...tunnel].sort((a, b) => a.ts - b.ts).slice(0, 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'dnsward-analyze-bench-'));
const input = join(dir, 'queries.jsonl');
writeFileSync(
  input,
  all.map((q) => JSON.stringify({ ts: q.ts, client: q.client, qname: q.qname, qtype: q.qtype })).join('\n') + '\n',
);

// Engine alone: per-query cost, median and p99 of batches of 1,000 queries. The first pass meets
// every domain for the first time; the second replays the same traffic 12 hours later, as a
// network the engine already knows (the steady state of a running server).
const guard = new TunnelGuard();
const queries = all.map((q) => ({ ts: q.ts, client: q.client, labels: labelsFromText(q.qname), qtype: q.qtype }));
for (const [pass, shift] of [
  ['first pass (new network)', 0],
  ['second pass (known network)', 43_200],
] as const) {
  const perQuery: number[] = [];
  for (let i = 0; i + 1000 <= queries.length; i += 1000) {
    const batch = queries.slice(i, i + 1000).map((q) => ({ ...q, ts: q.ts + shift }));
    const t = process.hrtime.bigint();
    for (const q of batch) guard.observe(q);
    perQuery.push(Number(process.hrtime.bigint() - t) / 1000 / 1000);
  }
  perQuery.sort((a, b) => a - b);
  console.log(
    `Tunnel Guard per query, ${pass}, batches of 1,000 over ${queries.length} queries: median ${perQuery[perQuery.length >> 1].toFixed(2)} µs, p99 ${perQuery[Math.floor(perQuery.length * 0.99)].toFixed(2)} µs`,
  );
}

// Whole command path: read JSONL, decide, format every output line.
let bytes = 0;
const result = analyze({
  guard: new TunnelGuard(),
  learn: [],
  inputs: [input],
  write: (line) => (bytes += line.length + 1),
});
console.log(
  `dnsward analyze on JSONL: ${result.queries} queries in ${result.seconds.toFixed(2)} s = ${Math.round(result.queries / result.seconds)} queries/s (${(bytes / 1e6).toFixed(0)} MB of output)`,
);
rmSync(dir, { recursive: true, force: true });
