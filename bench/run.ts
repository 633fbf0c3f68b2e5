/**
 * `npm run bench`: dnsperf against dnsward, dnsdist and unbound in the same run, on the same
 * machine, all in front of the same unbound upstream (local data only). Prints a Markdown
 * table; docs/BENCHMARKS.md records results with date, machine and command.
 *
 * Workloads: "hit" repeats 100 names (all cache hits once warm); "miss" sends unique names
 * under a redirect zone, so every query reaches the upstream.
 * Measures: max QPS (dnsperf -c 4 -q 500), and latency percentiles at a fixed 20k QPS
 * (from dnsperf -v per-query latencies), and CPU time per query (from /proc).
 *
 * Environment: BENCH_SECONDS (default 8), BENCH_LATENCY_REPEATS (default 3; latency columns
 * are medians over the repeats), BENCH_SKIP_DNSDIST=1, BENCH_ONLY_DNSWARD=1 (no unbound or
 * dnsdist rows), BENCH_VARIANTS (dnsward variants as threads:guard:queryLog, comma-separated).
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { allowDomain, type BenchExtra, dnsperf, extraConfig, maxQps, startProcess, stopProcess } from './dnsperf.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/cli.js';
import { freePort } from '../test/helpers/ports.js';
import { RedisServer } from '../test/helpers/redis.js';
import { UnboundServer } from '../test/helpers/unbound.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const LATENCY_REPEATS = Number(process.env.BENCH_LATENCY_REPEATS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'dnsward-bench-'));

interface Row {
  target: string;
  workload: string;
  qps: number;
  cpuUsPerQuery: number;
  lost: number;
  p50ms?: number;
  p99ms?: number;
  avgms?: number;
  p99Range?: string;
}

async function measure(
  target: string,
  workload: string,
  port: number,
  pid: number,
  file: string,
  withLatency: boolean,
): Promise<Row> {
  const row: Row = { target, workload, ...(await maxQps(port, file, SECONDS, pid)) };
  if (withLatency) {
    // p99 on a shared 2-core machine swings between runs: take the median of several runs.
    const runs: { p50: number; p99: number; avg: number }[] = [];
    for (let r = 0; r < LATENCY_REPEATS; r++) {
      const verbose = await dnsperf(port, file, SECONDS, ['-Q', '20000', '-v', '-c', '4']);
      const latencies: number[] = [];
      for (const line of verbose.split('\n')) {
        if (line.startsWith('> ')) latencies.push(Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000);
      }
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
      runs.push({ p50: pct(50), p99: pct(99), avg: latencies.reduce((a, b) => a + b, 0) / latencies.length });
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    row.p50ms = median(runs.map((x) => x.p50));
    row.p99ms = median(runs.map((x) => x.p99));
    row.avgms = median(runs.map((x) => x.avg));
    row.p99Range = `${Math.min(...runs.map((x) => x.p99)).toFixed(2)}–${Math.max(...runs.map((x) => x.p99)).toFixed(2)}`;
  }
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}

async function dnsdist(upstreamPort: number, cache: boolean): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const conf = join(dir, `dnsdist-${cache}.conf`);
  writeFileSync(
    conf,
    [
      'setSecurityPollSuffix("")', // otherwise dnsdist queries the outside at start
      `setLocal("127.0.0.1:${port}")`,
      `newServer({address="127.0.0.1:${upstreamPort}"})`,
      ...(cache ? ['pc = newPacketCache(1000000)', 'getPool(""):setCache(pc)'] : []),
    ].join('\n'),
  );
  return { child: await startProcess('dnsdist', ['-C', conf, '--supervised', '--disable-syslog'], port), port };
}

async function dnsward(
  upstreamPort: number,
  threads: number,
  guard: 'off' | 'block',
  queryLog: 'blocked' | 'all',
  extra: BenchExtra = '',
  redisPort?: number,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const tag = `${threads}-${guard}-${queryLog}${extra ? `-${extra}` : ''}`;
  const conf = join(dir, `dnsward-${tag}.yaml`);
  const dataDir = join(dir, `var-${tag}`);
  writeFileSync(
    conf,
    `listen: ["127.0.0.1:${port}"]\nthreads: ${threads}\ndataDir: ${dataDir}\nlog: { level: warn }\nupstreams: { servers: ["127.0.0.1:${upstreamPort}"] }\ncache: { maxEntries: 1000000, maxBytes: 256MiB }\nguard: { mode: ${guard} }\nqueryLog: { mode: ${queryLog} }\n${extraConfig(extra, redisPort)}`,
  );
  const child = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], port);
  if (guard !== 'off') allowDomain(CLI, dataDir, 'miss.bench.test');
  return { child, port };
}

function requireTools(): void {
  const tools = ['dnsperf', 'unbound', ...(process.env.BENCH_SKIP_DNSDIST ? [] : ['dnsdist'])];
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length > 0) {
    console.error(
      `npm run bench needs ${missing.join(', ')}: apt-get install -y ${missing.join(' ')}` +
        (missing.includes('dnsdist') ? ' (or BENCH_SKIP_DNSDIST=1 to leave dnsdist out)' : ''),
    );
    process.exit(2);
  }
}

async function main(): Promise<void> {
  requireTools();
  const hitNames = Array.from({ length: 100 }, (_, i) => `h${i}.hit.bench.test`);
  const upstream = await UnboundServer.start({
    zones: ['hit.bench.test'],
    records: [
      ...hitNames.map((n, i) => `${n}. 3600 IN A 192.0.2.${(i % 250) + 1}`),
      'miss.bench.test. 3600 IN A 192.0.2.254',
    ],
    extra: [
      'local-zone: "miss.bench.test." redirect',
      'num-queries-per-thread: 4096',
      'so-rcvbuf: 4m',
      'so-sndbuf: 4m',
    ],
  });
  const hitFile = join(dir, 'hit.txt');
  writeFileSync(hitFile, hitNames.map((n) => `${n} A`).join('\n') + '\n');
  // Unique names for the whole run: more than the fastest target can send in SECONDS.
  const missCount = Math.max(2_000_000, SECONDS * 150_000);
  const missFile = join(dir, 'miss.txt');
  const missLines: string[] = [];
  for (let i = 0; i < missCount; i++) missLines.push(`m${i.toString(36)}.miss.bench.test A`);
  writeFileSync(missFile, missLines.join('\n') + '\n');
  const rows: Row[] = [];
  const upstreamPid = upstream.pid;

  const onlyDnsward = process.env.BENCH_ONLY_DNSWARD === '1';
  if (!onlyDnsward) {
    rows.push(await measure('unbound (alone)', 'hit', upstream.port, upstreamPid, hitFile, true));
    rows.push(await measure('unbound (alone)', 'miss', upstream.port, upstreamPid, missFile, true));
  }

  if (!process.env.BENCH_SKIP_DNSDIST && !onlyDnsward) {
    const cached = await dnsdist(upstream.port, true);
    rows.push(await measure('dnsdist, packet cache', 'hit', cached.port, cached.child.pid!, hitFile, true));
    await stopProcess(cached.child);
    const uncached = await dnsdist(upstream.port, false);
    rows.push(await measure('dnsdist, no cache', 'miss', uncached.port, uncached.child.pid!, missFile, true));
    await stopProcess(uncached.child);
  }
  // Tunnel Guard on (the default, blocking) and off, and the query log of blocked queries (the
  // default) or of every query: the same build, each one's cost alone.
  // `threads: 1` is the default on a 2-core machine (auto = cores - 1); `threads: 0` runs
  // everything on one thread, Tunnel Guard inline (the design before the I/O threads).
  const variants = (
    process.env.BENCH_VARIANTS ?? '1:block:blocked,1:off:blocked,1:block:all,2:block:blocked,0:block:blocked'
  )
    .split(',')
    .map((v) => v.split(':') as [string, 'off' | 'block', 'blocked' | 'all', BenchExtra?]);
  const redis = variants.some((v) => v[3] === 'cluster') ? await RedisServer.start() : undefined;
  for (const [threadsText, guard, queryLog, extra = ''] of variants) {
    const threads = Number(threadsText);
    const dw = await dnsward(upstream.port, threads, guard, queryLog, extra, redis?.port);
    const extraName =
      extra === 'nodefence'
        ? ', defence defaults off'
        : extra === 'dynblocks'
          ? ', dynamic blocks counting'
          : extra === 'cluster'
            ? ', cluster (Redis)'
            : '';
    const name = `dnsward, ${threads === 0 ? 'inline (threads: 0)' : `${threads} I/O thread${threads > 1 ? 's' : ''}`}, guard ${guard === 'off' ? 'off' : 'on'}${queryLog === 'all' ? ', every query logged' : ''}${extraName}`;
    rows.push(await measure(name, 'hit', dw.port, dw.child.pid!, hitFile, threads === 1));
    rows.push(await measure(name, 'miss', dw.port, dw.child.pid!, missFile, threads === 1));
    await stopProcess(dw.child);
  }
  await redis?.stop();
  await upstream.stop();
  printTable(rows);
}

function printTable(rows: Row[]): void {
  const find = (t: string, w: string) => rows.find((r) => r.target.startsWith(t) && r.workload === w);
  const f = (n: number | undefined, d = 2) => (n === undefined ? '–' : n.toFixed(d));
  console.log(
    `\n## dnsperf, ${SECONDS} s per run, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}\n`,
  );
  console.log(`Latency columns: median of ${LATENCY_REPEATS} runs at 20k QPS; the p99 range shows the spread.\n`);
  console.log(
    '| target | workload | max QPS | lost | CPU µs/query | avg ms @20k | p50 ms @20k | p99 ms @20k | p99 range |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.target} | ${r.workload} | ${Math.round(r.qps)} | ${r.lost} | ${f(r.cpuUsPerQuery, 1)} | ${f(r.avgms, 3)} | ${f(r.p50ms, 3)} | ${f(r.p99ms, 3)} | ${r.p99Range ?? '–'} |`,
    );
  const dwHit = rows.find((r) => r.target === 'dnsward, 1 I/O thread, guard on' && r.workload === 'hit');
  const dwMiss = rows.find((r) => r.target === 'dnsward, 1 I/O thread, guard on' && r.workload === 'miss');
  const allLogHit = find('dnsward, 1 I/O thread, guard on, every query logged', 'hit');
  const allLogMiss = find('dnsward, 1 I/O thread, guard on, every query logged', 'miss');
  const offHit = find('dnsward, 1 I/O thread, guard off', 'hit');
  const offMiss = find('dnsward, 1 I/O thread, guard off', 'miss');
  const ddHit = find('dnsdist, packet', 'hit');
  const ddMiss = find('dnsdist, no', 'miss');
  const ubMiss = find('unbound', 'miss');
  const ubHit = find('unbound', 'hit');
  console.log('\n| measure | target | dnsward | reference | ratio / difference |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  if (dwHit && ddHit)
    console.log(
      `| cache-hit QPS vs dnsdist with packet cache | ≥ 1.0× | ${Math.round(dwHit.qps)} | ${Math.round(ddHit.qps)} | ${(dwHit.qps / ddHit.qps).toFixed(2)}× |`,
    );
  if (dwMiss && ddMiss)
    console.log(
      `| cache-miss QPS vs dnsdist without cache | ≥ 1.0× | ${Math.round(dwMiss.qps)} | ${Math.round(ddMiss.qps)} | ${(dwMiss.qps / ddMiss.qps).toFixed(2)}× |`,
    );
  if (dwMiss && ubMiss)
    console.log(
      `| added p99 at 20k QPS, misses, over unbound alone | ≤ 0.5 ms | ${f(dwMiss.p99ms, 3)} ms | ${f(ubMiss.p99ms, 3)} ms | +${f((dwMiss.p99ms ?? 0) - (ubMiss.p99ms ?? 0), 3)} ms |`,
    );
  if (dwHit && ubHit)
    console.log(
      `| added p99 at 20k QPS, hits, over unbound alone | – | ${f(dwHit.p99ms, 3)} ms | ${f(ubHit.p99ms, 3)} ms | +${f((dwHit.p99ms ?? 0) - (ubHit.p99ms ?? 0), 3)} ms |`,
    );
  if (ddMiss && ubMiss)
    console.log(
      `| dnsdist's added p99 (reference) | – | – | ${f(ddMiss.p99ms, 3)} ms | +${f((ddMiss.p99ms ?? 0) - (ubMiss.p99ms ?? 0), 3)} ms |`,
    );
  if (dwHit && offHit)
    console.log(
      `| Tunnel Guard on vs off, cache-hit QPS | ≥ 0.95× | ${Math.round(dwHit.qps)} | ${Math.round(offHit.qps)} | ${(dwHit.qps / offHit.qps).toFixed(2)}× |`,
    );
  if (dwMiss && offMiss)
    console.log(
      `| Tunnel Guard on vs off, cache-miss QPS | ≥ 0.9× | ${Math.round(dwMiss.qps)} | ${Math.round(offMiss.qps)} | ${(dwMiss.qps / offMiss.qps).toFixed(2)}× |`,
    );
  if (dwHit && offHit)
    console.log(
      `| Tunnel Guard's added p99 at 20k QPS, hits | ≤ 0.2 ms | ${f(dwHit.p99ms, 3)} ms | ${f(offHit.p99ms, 3)} ms | +${f((dwHit.p99ms ?? 0) - (offHit.p99ms ?? 0), 3)} ms |`,
    );
  if (dwMiss && offMiss)
    console.log(
      `| Tunnel Guard's added p99 at 20k QPS, misses (every name new) | ≤ 0.2 ms | ${f(dwMiss.p99ms, 3)} ms | ${f(offMiss.p99ms, 3)} ms | +${f((dwMiss.p99ms ?? 0) - (offMiss.p99ms ?? 0), 3)} ms |`,
    );
  if (dwHit && allLogHit && dwMiss && allLogMiss)
    console.log(
      `| query log of every query vs blocked only (default), QPS hit / miss | ≥ 0.9× hits | ${Math.round(allLogHit.qps)} / ${Math.round(allLogMiss.qps)} | ${Math.round(dwHit.qps)} / ${Math.round(dwMiss.qps)} | ${(allLogHit.qps / dwHit.qps).toFixed(2)}× / ${(allLogMiss.qps / dwMiss.qps).toFixed(2)}× |`,
    );
  if (dwHit && allLogHit)
    console.log(
      `| query log of every query: added p99 at 20k QPS, hits | – | ${f(allLogHit.p99ms, 3)} ms | ${f(dwHit.p99ms, 3)} ms | +${f((allLogHit.p99ms ?? 0) - (dwHit.p99ms ?? 0), 3)} ms |`,
    );
  const w2Hit = find('dnsward, 2', 'hit');
  const w2Miss = find('dnsward, 2', 'miss');
  if (w2Hit && dwHit && w2Miss && dwMiss)
    console.log(
      `| QPS, 2 I/O threads vs 1 (hit / miss) | – | ${Math.round(w2Hit.qps)} / ${Math.round(w2Miss.qps)} | ${Math.round(dwHit.qps)} / ${Math.round(dwMiss.qps)} | ${(w2Hit.qps / dwHit.qps).toFixed(2)}× / ${(w2Miss.qps / dwMiss.qps).toFixed(2)}× |`,
    );
  if (w2Hit && dwHit && w2Miss && dwMiss)
    console.log(
      `| CPU µs/query, 2 I/O threads vs 1 (hit / miss) | not more | ${f(w2Hit.cpuUsPerQuery, 1)} / ${f(w2Miss.cpuUsPerQuery, 1)} | ${f(dwHit.cpuUsPerQuery, 1)} / ${f(dwMiss.cpuUsPerQuery, 1)} | ${(w2Hit.cpuUsPerQuery / dwHit.cpuUsPerQuery).toFixed(2)}× / ${(w2Miss.cpuUsPerQuery / dwMiss.cpuUsPerQuery).toFixed(2)}× |`,
    );
  const inHit = find('dnsward, inline', 'hit');
  const inMiss = find('dnsward, inline', 'miss');
  if (inHit && dwHit && inMiss && dwMiss)
    console.log(
      `| QPS, 1 I/O thread + brain vs everything inline (hit / miss) | – | ${Math.round(dwHit.qps)} / ${Math.round(dwMiss.qps)} | ${Math.round(inHit.qps)} / ${Math.round(inMiss.qps)} | ${(dwHit.qps / inHit.qps).toFixed(2)}× / ${(dwMiss.qps / inMiss.qps).toFixed(2)}× |`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
