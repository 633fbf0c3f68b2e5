/**
 * Response policy at scale: loads POLICY_BENCH_RULES (default 5,000,000) rules as a domain list
 * and as an RPZ zone into dnsward's rule table (parse + build, in this thread) and measures
 * load time, memory and the cost of a lookup; then loads the same RPZ zone into unbound
 * (Debian) in the same run and measures how long until it answers from it, and its memory.
 * Prints a Markdown table for docs/BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFeedText } from '../src/policy/feed-parse.js';
import { nameToWire } from '../src/dns/name.js';
import { NameProbe, RuleSet } from '../src/policy/rule-set.js';
import { UnboundServer } from '../test/helpers/unbound.js';

const N = Number(process.env.POLICY_BENCH_RULES ?? 5_000_000);
const TLDS = ['com', 'net', 'org', 'info', 'xyz', 'top', 'ru', 'cn', 'io', 'co.uk'];
const dir = mkdtempSync(join(tmpdir(), 'dnsward-policy-bench-'));

const ruleName = (i: number) => `${(i * 2654435761 % 4294967296).toString(36)}-${i.toString(36)}.${TLDS[i % TLDS.length]}`;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

function measureLoad(label: string, text: string, format: 'domains' | 'rpz') {
  global.gc?.();
  const before = process.memoryUsage();
  const started = performance.now();
  const parsed = parseFeedText(text, format, 'rpz.bench');
  const set = new RuleSet(parsed.table);
  const ms = performance.now() - started;
  global.gc?.();
  const after = process.memoryUsage();
  const tableMiB = (parsed.table.slots.byteLength + parsed.table.action.length * 7) / (1 << 20);
  return { label, rules: set.size, ms, tableMiB, heapMiB: (after.heapUsed - before.heapUsed) / (1 << 20), buffersMiB: (after.arrayBuffers - before.arrayBuffers) / (1 << 20), set };
}

function measureLookups(set: RuleSet): { hitNs: number; missNs: number; parentNs: number } {
  const probe = new NameProbe();
  const time = (names: string[]) => {
    // As in a request: the wire name's bytes (12 bytes in, after the header).
    const wires = names.map((n) => Buffer.concat([Buffer.alloc(12), nameToWire(n)]));
    let found = 0;
    // Warm up, then time.
    for (let i = 0; i < Math.min(wires.length, 100_000); i++) { probe.setBytes(wires[i], 12); if (set.match(probe)) found++; }
    // A query's bytes are hot in cache when the stage runs; the table (hundreds of MiB) is not.
    const LOOKUPS = 2_000_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < LOOKUPS; i++) { const w = wires[i & 4095]; probe.setBytes(w, 12); if (set.match(probe)) found++; }
    const ns = Number(process.hrtime.bigint() - started) / LOOKUPS;
    return { ns, found };
  };
  const K = 4096;
  const hits = Array.from({ length: K }, (_, i) => ruleName((i * 7919) % N));
  const misses = Array.from({ length: K }, (_, i) => `www.clean-${i}.example.com`);
  const parents = Array.from({ length: K }, (_, i) => `cdn.img.${ruleName((i * 104729) % N)}`);
  return { hitNs: time(hits).ns, missNs: time(misses).ns, parentNs: time(parents).ns };
}

async function unboundLoad(zoneFile: string): Promise<{ ms: number; rssMiB: number }> {
  const origin = await UnboundServer.start({ zones: ['bench.test'], records: [] });
  const started = performance.now();
  const u = await UnboundServer.start({ zones: [], records: [], moduleConfig: 'respip iterator', forwardTo: origin.port, clauses: ['rpz:', '  name: rpz.bench', `  zonefile: ${zoneFile}`], startTimeoutMs: 600_000 }).catch(async (err) => {
    await origin.stop();
    throw err;
  });
  // unbound answers only once the zone is read; a blocked name proves the rules are in.
  const deadline = Date.now() + 600_000;
  for (;;) {
    const out = execFileSync('dig', ['@127.0.0.1', '-p', String(u.port), ruleName(N - 1), 'A', '+tries=1', '+time=2'], { encoding: 'utf8' });
    if (/status: NXDOMAIN/.test(out)) break;
    if (Date.now() > deadline) throw new Error('unbound did not load the zone in 10 minutes');
    await new Promise((r) => setTimeout(r, 200));
  }
  const ms = performance.now() - started;
  const rss = rssMiB(u.pid);
  const pid = u.pid;
  await u.stop();
  // unbound frees gigabytes slowly on SIGTERM; the benchmark must not leave it running.
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await origin.stop();
  return { ms, rssMiB: rss };
}

async function main(): Promise<void> {
  console.error(`generating ${N.toLocaleString()} rules in ${dir}`);
  const names = Array.from({ length: N }, (_, i) => ruleName(i));
  const domains = names.join('\n') + '\n';
  const rpz = `$TTL 300\n@ IN SOA localhost. admin.localhost. ( 1 3600 600 86400 60 )\n  IN NS localhost.\n${names.map((n) => `${n} CNAME .`).join('\n')}\n`;
  const zoneFile = join(dir, 'bench.rpz');
  writeFileSync(zoneFile, rpz);
  const list = measureLoad('domain list', domains, 'domains');
  const lookups = measureLookups(list.set);
  const zone = measureLoad('RPZ zone', rpz, 'rpz');
  console.error(JSON.stringify({ list: { ms: list.ms, tableMiB: list.tableMiB, heapMiB: list.heapMiB }, zone: { ms: zone.ms }, lookups }));
  console.error('loading the same zone into unbound…');
  const ub = await unboundLoad(zoneFile);
  console.log(`\n## Response policy at ${N.toLocaleString()} rules, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}\n`);
  console.log('| loader | rules | load time | table | other heap after load | lookup: blocked name | lookup: clean name | lookup: name under a blocked parent |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const l of [list, zone]) console.log(`| dnsward, ${l.label} (parse + build) | ${l.rules.toLocaleString()} | ${(l.ms / 1000).toFixed(2)} s | ${l.tableMiB.toFixed(0)} MiB | ${l.heapMiB.toFixed(0)} MiB | ${l === list ? `${lookups.hitNs.toFixed(0)} ns` : '–'} | ${l === list ? `${lookups.missNs.toFixed(0)} ns` : '–'} | ${l === list ? `${lookups.parentNs.toFixed(0)} ns` : '–'} |`);
  console.log(`| unbound 1.17, the same RPZ zone (until it answers from it) | ${N.toLocaleString()} | ${(ub.ms / 1000).toFixed(2)} s | RSS ${ub.rssMiB.toFixed(0)} MiB | – | – | – | – |`);
  console.log(`\nLoad time ratio dnsward (RPZ) / unbound: ${(zone.ms / ub.ms).toFixed(2)}×. Lookups include hashing every suffix of the name (the NameProbe) and probing one feed.`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
