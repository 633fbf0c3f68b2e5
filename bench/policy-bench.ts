/**
 * Response policy at scale: loads POLICY_BENCH_RULES (default 5,000,000) rules as a domain list
 * and as an RPZ zone into dnsward's rule table (parse + build, in this thread) and measures
 * load time, memory and the cost of a lookup; then, in the same run, loads the same RPZ zone
 * into unbound (Debian) and measures how long until it answers from it, and serves both with
 * dnsperf (names the rules block, and clean names), each beside itself without rules, with QPS,
 * CPU per query and memory. Prints Markdown tables for docs/BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFeed } from '../src/policy/feed-parse.js';
import { nameToWire } from '../src/dns/name.js';
import { NameProbe, RuleSet, ruleSetBytes } from '../src/policy/rule-set.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { CLI } from '../test/helpers/cli.js';
import { freePort } from '../test/helpers/ports.js';
import { maxQps, startProcess, stopProcess } from './dnsperf.js';

const N = Number(process.env.POLICY_BENCH_RULES ?? 5_000_000);
const TLDS = ['com', 'net', 'org', 'info', 'xyz', 'top', 'ru', 'cn', 'io', 'co.uk'];
const dir = mkdtempSync(join(tmpdir(), 'dnsward-policy-bench-'));

const ruleName = (i: number) =>
  `${((i * 2654435761) % 4294967296).toString(36)}-${i.toString(36)}.${TLDS[i % TLDS.length]}`;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** The feed's bytes, made in chunks: millions of rule strings alive at once would distort the heap measured. */
function feedBytes(line: (name: string) => string, header = ''): Buffer {
  const parts = [Buffer.from(header)];
  for (let i = 0; i < N; i += 100_000) {
    let chunk = '';
    for (let j = i; j < Math.min(N, i + 100_000); j++) chunk += `${line(ruleName(j))}\n`;
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

function measureLoad(label: string, content: Buffer, format: 'domains' | 'rpz') {
  global.gc?.();
  const before = process.memoryUsage();
  const started = performance.now();
  const parsed = parseFeed(content, format, 'rpz.bench');
  const set = new RuleSet(parsed.table);
  const ms = performance.now() - started;
  global.gc?.();
  const after = process.memoryUsage();
  const tableMiB = ruleSetBytes(parsed.table) / (1 << 20);
  return {
    label,
    rules: set.size,
    ms,
    tableMiB,
    heapMiB: (after.heapUsed - before.heapUsed) / (1 << 20),
    buffersMiB: (after.arrayBuffers - before.arrayBuffers) / (1 << 20),
    set,
  };
}

function measureLookups(set: RuleSet): { hitNs: number; missNs: number; parentNs: number } {
  const probe = new NameProbe();
  const time = (names: string[]) => {
    // As in a request: the wire name's bytes (12 bytes in, after the header).
    const wires = names.map((n) => Buffer.concat([Buffer.alloc(12), nameToWire(n)]));
    let found = 0;
    // Warm up, then time.
    for (let i = 0; i < Math.min(wires.length, 100_000); i++) {
      probe.setBytes(wires[i], 12);
      if (set.match(probe)) found++;
    }
    // A query's bytes are hot in cache when the stage runs; the table (hundreds of MiB) is not.
    const LOOKUPS = 2_000_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < LOOKUPS; i++) {
      const w = wires[i & 4095];
      probe.setBytes(w, 12);
      if (set.match(probe)) found++;
    }
    const ns = Number(process.hrtime.bigint() - started) / LOOKUPS;
    return { ns, found };
  };
  const K = 4096;
  const hits = Array.from({ length: K }, (_, i) => ruleName((i * 7919) % N));
  const misses = Array.from({ length: K }, (_, i) => `www.clean-${i}.example.com`);
  const parents = Array.from({ length: K }, (_, i) => `cdn.img.${ruleName((i * 104729) % N)}`);
  return { hitNs: time(hits).ns, missNs: time(misses).ns, parentNs: time(parents).ns };
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);

async function waitForBlock(port: number, what: string): Promise<void> {
  // Answers come only once the rules are in; a blocked name proves they are.
  const deadline = Date.now() + 600_000;
  for (;;) {
    const out = execFileSync('dig', ['@127.0.0.1', '-p', String(port), ruleName(N - 1), 'A', '+tries=1', '+time=2'], {
      encoding: 'utf8',
    });
    if (/status: NXDOMAIN/.test(out)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not load the rules in 10 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Served {
  target: string;
  blockedQps: number;
  cleanQps: number;
  cpuUsPerQuery: number;
  rssMiB: number;
  /** dnsward only: blocked queries the query log dropped (its writer was behind), of those it saw. */
  logDropped?: { rows: number; dropped: number };
}

/** The query log's rows and drops, from dnsward's metrics endpoint. */
async function queryLogCounts(metricsPort: number): Promise<{ rows: number; dropped: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rows: value('dnsward_query_log_rows_total'), dropped: value('dnsward_query_log_dropped_total') };
}

/** Max QPS (dnsperf -c 4 -q 500) for names the rules block and for clean names (cache hits), and CPU per blocked query. */
async function serve(
  target: string,
  port: number,
  pid: number,
  files: { blocked: string; clean: string },
): Promise<Served> {
  await maxQps(port, files.clean, 1, pid); // warm the caches
  const blocked = await maxQps(port, files.blocked, SECONDS, pid);
  const clean = await maxQps(port, files.clean, SECONDS, pid);
  const row = {
    target,
    blockedQps: blocked.qps,
    cleanQps: clean.qps,
    cpuUsPerQuery: blocked.cpuUsPerQuery,
    rssMiB: rssMiB(pid),
  };
  console.error(JSON.stringify(row));
  return row;
}

async function stopUnbound(u: UnboundServer): Promise<void> {
  const pid = u.pid;
  await u.stop();
  // unbound frees gigabytes slowly on SIGTERM; the benchmark must not leave it running.
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * The same rules served: unbound with the RPZ zone and dnsward with the domain list, each also
 * without rules, all forwarding to one origin unbound that answers the clean names.
 */
async function servingComparison(
  zoneFile: string,
  listFile: string,
): Promise<{ unboundLoadMs: number; rows: Served[] }> {
  const cleanNames = Array.from({ length: 100 }, (_, i) => `c${i}.clean.bench.test`);
  const origin = await UnboundServer.start({
    zones: ['clean.bench.test'],
    records: cleanNames.map((n) => `${n}. 3600 IN A 192.0.2.1`),
    extra: ['num-queries-per-thread: 4096'],
  });
  const files = { blocked: join(dir, 'blocked.txt'), clean: join(dir, 'clean.txt') };
  writeFileSync(
    files.blocked,
    Array.from({ length: 100_000 }, (_, i) => `${ruleName((i * 48271) % N)} A`).join('\n') + '\n',
  );
  writeFileSync(files.clean, cleanNames.map((n) => `${n} A`).join('\n') + '\n');
  const rows: Served[] = [];
  let unboundLoadMs = 0;
  try {
    console.error('loading the zone into unbound…');
    const started = performance.now();
    const u = await UnboundServer.start({
      zones: [],
      records: [],
      moduleConfig: 'respip iterator',
      forwardTo: origin.port,
      clauses: ['rpz:', '  name: rpz.bench', `  zonefile: ${zoneFile}`],
      extra: ['num-queries-per-thread: 4096'],
      startTimeoutMs: 600_000,
    });
    await waitForBlock(u.port, 'unbound');
    unboundLoadMs = performance.now() - started;
    rows.push(await serve(`unbound, ${N.toLocaleString()} RPZ rules`, u.port, u.pid, files));
    await stopUnbound(u);
    const plain = await UnboundServer.start({
      zones: [],
      records: [],
      forwardTo: origin.port,
      extra: ['num-queries-per-thread: 4096'],
    });
    const plainRow = await serve('unbound, no rules', plain.port, plain.pid, files);
    plainRow.blockedQps = 0; // nothing is blocked: these names go to the origin (NXDOMAIN there), not comparable
    rows.push(plainRow);
    await stopUnbound(plain);
    for (const withRules of [true, false]) {
      const port = await freePort();
      const metricsPort = await freePort();
      const conf = join(dir, `dnsward-${withRules}.yaml`);
      writeFileSync(
        conf,
        `listen: ["127.0.0.1:${port}"]\ndataDir: ${join(dir, `var-${withRules}`)}\nlog: { level: warn }\nconsole: { listen: null }\nupstreams: { servers: ["127.0.0.1:${origin.port}"] }\nguard: { mode: off }\nmetrics: { listen: "127.0.0.1:${metricsPort}" }\n` +
          (withRules
            ? `policy:\n  feeds: [{ name: bench, category: malware, format: domains, path: "${listFile}" }]\n  groups: [{ name: everyone, feeds: [bench] }]\n`
            : ''),
      );
      const dw = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], port, 600);
      try {
        if (withRules) await waitForBlock(port, 'dnsward');
        const row = await serve(
          withRules ? `dnsward, ${N.toLocaleString()} rules (domain list)` : 'dnsward, no rules',
          port,
          dw.pid!,
          files,
        );
        if (!withRules) row.blockedQps = 0;
        else row.logDropped = await queryLogCounts(metricsPort);
        rows.push(row);
      } finally {
        await stopProcess(dw);
      }
    }
  } finally {
    await origin.stop();
  }
  return { unboundLoadMs, rows };
}

async function main(): Promise<void> {
  console.error(`generating ${N.toLocaleString()} rules in ${dir}`);
  const domains = feedBytes((n) => n);
  const rpz = feedBytes(
    (n) => `${n} CNAME .`,
    '$TTL 300\n@ IN SOA localhost. admin.localhost. ( 1 3600 600 86400 60 )\n  IN NS localhost.\n',
  );
  const zoneFile = join(dir, 'bench.rpz');
  const listFile = join(dir, 'bench.list');
  writeFileSync(zoneFile, rpz);
  writeFileSync(listFile, domains);
  const list = measureLoad('domain list', domains, 'domains');
  const lookups = measureLookups(list.set);
  const zone = measureLoad('RPZ zone', rpz, 'rpz');
  console.error(
    JSON.stringify({
      list: { ms: list.ms, tableMiB: list.tableMiB, heapMiB: list.heapMiB },
      zone: { ms: zone.ms },
      lookups,
    }),
  );
  const served = await servingComparison(zoneFile, listFile);
  const ub = served.rows[0];
  console.log(
    `\n## Response policy at ${N.toLocaleString()} rules, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}\n`,
  );
  console.log(
    '| loader | rules | load time | memory | lookup: blocked name | lookup: clean name | lookup: name under a blocked parent |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const l of [list, zone])
    console.log(
      `| dnsward, ${l.label} (parse + build, one thread) | ${l.rules.toLocaleString()} | ${(l.ms / 1000).toFixed(2)} s | table + filter ${l.tableMiB.toFixed(0)} MiB | ${l === list ? `${lookups.hitNs.toFixed(0)} ns` : '–'} | ${l === list ? `${lookups.missNs.toFixed(0)} ns` : '–'} | ${l === list ? `${lookups.parentNs.toFixed(0)} ns` : '–'} |`,
    );
  console.log(
    `| unbound, the same RPZ zone (start until it answers from it) | ${N.toLocaleString()} | ${(served.unboundLoadMs / 1000).toFixed(2)} s | RSS ${ub.rssMiB.toFixed(0)} MiB | – | – | – |`,
  );
  console.log(
    `\nLoad time ratio dnsward (RPZ) / unbound: ${(zone.ms / served.unboundLoadMs).toFixed(2)}×. Lookups include hashing every suffix of the name (the NameProbe) and probing one feed.\n`,
  );
  console.log(
    `Served (dnsperf -c 4 -q 500, ${SECONDS} s each; "blocked": 100,000 names the rules block; "clean": 100 names the origin answers, cache hits):\n`,
  );
  console.log('| server | blocked names QPS | clean names QPS | CPU µs per blocked query | RSS |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of served.rows)
    console.log(
      `| ${r.target} | ${r.blockedQps ? r.blockedQps.toFixed(0) : '–'} | ${r.cleanQps.toFixed(0)} | ${r.blockedQps ? r.cpuUsPerQuery.toFixed(1) : '–'} | ${r.rssMiB.toFixed(0)} MiB |`,
    );
  const dw = served.rows.find((r) => r.target.startsWith('dnsward') && r.blockedQps > 0);
  if (dw?.logDropped)
    console.log(
      `\ndnsward query log (queryLog.mode: blocked, the default: one row per blocked query) during the blocked run: ${dw.logDropped.rows.toLocaleString()} rows written, ${dw.logDropped.dropped.toLocaleString()} dropped because the writer was behind (${((100 * dw.logDropped.dropped) / (dw.logDropped.rows + dw.logDropped.dropped)).toFixed(1)} %).`,
    );
  if (dw)
    console.log(
      `\nRatios dnsward / unbound with the same rules: blocked names ${(dw.blockedQps / ub.blockedQps).toFixed(2)}×, clean names ${(dw.cleanQps / ub.cleanQps).toFixed(2)}×, memory ${(dw.rssMiB / ub.rssMiB).toFixed(2)}×.`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
