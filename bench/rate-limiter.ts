/**
 * Per-client rate limiter: memory at the default cap (maxTracked 100,000 prefixes, half IPv4 and
 * half IPv6), and the cost of the defence stage per query for clients it already tracks, with the
 * minor GCs (scavenges) over a million queries: the hot path should allocate nothing.
 * Run with --expose-gc.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { ClientRateLimiter, type ClientRateLimits } from '../src/defence/client-rate-limiter.js';
import { parseInto } from '../src/dns/query-parser.js';
import { QueryContext, type ReplySink } from '../src/pipeline/query-context.js';
import type { PipelineControl } from '../src/pipeline/stage.js';
import { DefenceStage } from '../src/pipeline/stages/defence-stage.js';
import { encodeQuery } from '../test/helpers/packets.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const MAX = 100_000;
const LIMITS: ClientRateLimits = {
  rate: 100,
  burst: 200,
  ipv4Prefix: 32,
  ipv6Prefix: 64,
  exempt: ['10.0.0.0/8', '2001:db8:ffff::/48'],
  maxTracked: MAX,
};
const v4 = (i: number) => `172.${16 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
const v6 = (i: number) => `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;

// The address texts exist before the first measurement, as the listeners' texts do in the server.
const texts: string[] = [];
for (let i = 0; i < MAX / 2; i++) texts.push(v4(i), v6(i));
gc();
const before = process.memoryUsage();
let limiter: ClientRateLimiter | null = new ClientRateLimiter(LIMITS);
// Every prefix stays tracked: one short of the cap never starts a third generation.
for (let i = 0; i < texts.length && limiter.counters().tracked < MAX - 1; i++) limiter.allow(texts[i], i / 1000);
gc();
const full = process.memoryUsage();
const { tracked, evictions } = limiter.counters();
limiter = null;
gc();
const freed = process.memoryUsage();
const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
console.log(
  `rate limiter at its cap: ${tracked} prefixes tracked (maxTracked ${MAX}, half IPv4, half IPv6), ${evictions} evictions`,
);
console.log(
  `  heap ${mib(full.heapUsed - freed.heapUsed)} MiB (${Math.round((full.heapUsed - freed.heapUsed) / tracked)} bytes per tracked prefix: maps, IPv6 keys, key cache)` +
    ` + buckets ${mib(full.arrayBuffers - before.arrayBuffers)} MiB (16 bytes per maxTracked slot, allocated at start)`,
);

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
      scavenges++;
}).observe({ entryTypes: ['gc'] });

const sink: ReplySink = { listenerKey: 'bench', send: () => {}, drop: () => {} };
const control: PipelineControl = { next: () => {}, respond: () => {}, drop: () => {} };

/** The defence stage over `clients` tracked clients, their contexts made beforehand (the listener's work, not the stage's). */
async function timed(label: string, address: (i: number) => string, clients: number): Promise<void> {
  // Loose enough that every query passes: the cost measured is the check, not the answer.
  const stage = new DefenceStage({
    clientRate: { ...LIMITS, rate: 1e6, burst: 1e6, enabled: true, action: 'refused' },
  });
  const request = encodeQuery('www.example.test');
  const n = 1_000_000;
  const rounds = 4;
  const contexts = Array.from({ length: clients * rounds }, (_, i) => {
    const ctx = new QueryContext(request, 'udp', address(i % clients), 5353, sink, null, 1000 + i / 1000);
    parseInto(request, request.length, ctx.query, { reason: '' });
    return ctx;
  });
  for (let i = 0; i < n; i++) stage.onQuery(contexts[i % contexts.length], control); // warm up
  gc!();
  await new Promise((resolve) => setImmediate(resolve));
  scavenges = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) stage.onQuery(contexts[i % contexts.length], control);
  const ns = ((performance.now() - started) * 1e6) / n;
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(
    `  defence stage, ${label}, ${clients} clients: ${ns.toFixed(0)} ns per query, ${scavenges} minor GCs over ${n / 1e6}M queries`,
  );
}
await timed('IPv4', v4, 1000);
await timed('IPv6', v6, 1000);
await timed('IPv4 exempt', (i) => `10.0.${i >> 8}.${i & 0xff}`, 1000);
