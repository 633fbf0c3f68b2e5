/**
 * Dynamic blocks, the data plane's cost: the defence stage's onQuery and onResponse per query
 * with dynamic blocks on (default rules; the traffic counted per client prefix, one block in
 * force so the block lookup runs too) against the same stage with them off, for clients it
 * already tracks, with the minor GCs (scavenges) over a million queries: the per-query path
 * should allocate nothing (a take every 500 ms, as an I/O thread does, allocates its message).
 * Also the main thread's tick over 10,000 and maxTracked active prefixes. Run with --expose-gc.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { configSchema } from '../src/config/schema.js';
import { DynamicBlocks } from '../src/defence/dynamic-blocks.js';
import { parseInto } from '../src/dns/query-parser.js';
import { buildRcodeReply } from '../src/dns/reply.js';
import { QueryContext, type ReplySink, ResponseType } from '../src/pipeline/query-context.js';
import type { PipelineControl } from '../src/pipeline/stage.js';
import { DefenceStage } from '../src/pipeline/stages/defence-stage.js';
import { encodeQuery } from '../test/helpers/packets.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
      scavenges++;
}).observe({ entryTypes: ['gc'] });

const v4 = (i: number) => `172.${16 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
const v6 = (i: number) => `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;
const sink: ReplySink = { listenerKey: 'bench', send: () => {}, drop: () => {} };
const control: PipelineControl = { next: () => {}, respond: () => {}, drop: () => {} };

/** The defence section as parsed from the config, with dynamic blocks on or off and everything else at its default. */
function defence(dynamic: boolean) {
  return configSchema.parse({
    defence: { dynamicBlocks: { enabled: dynamic, exempt: [] }, cookies: { enabled: false }, minimalAny: false },
  }).defence;
}

async function timed(
  label: string,
  dynamic: boolean,
  address: (i: number) => string,
  clients: number,
): Promise<number> {
  const stage = new DefenceStage(defence(dynamic));
  // One block in force (on a client not in the set): every query probes the block map too.
  if (dynamic)
    stage.setDynamicBlocks([
      {
        key: 0x0a000001,
        prefix: '10.0.0.1/32',
        rule: 'queries',
        action: 'refused',
        until: Date.now() + 3_600_000,
        reason: 'bench',
      },
    ]);
  const request = encodeQuery('www.example.test');
  const n = 1_000_000;
  const rounds = 4;
  const contexts = Array.from({ length: clients * rounds }, (_, i) => {
    const ctx = new QueryContext(request, 'udp', address(i % clients), 5353, sink, null, 1000 + i / 1000);
    parseInto(request, request.length, ctx.query, { reason: '' });
    ctx.answer = buildRcodeReply(request, ctx.query, 0, { withQuestion: true });
    ctx.responseType = ResponseType.CACHED;
    return ctx;
  });
  const run = () => {
    for (let i = 0; i < n; i++) {
      const ctx = contexts[i % contexts.length];
      stage.onQuery(ctx, control);
      stage.onResponse(ctx);
    }
  };
  run(); // warm up
  stage.takeTraffic();
  gc!();
  await new Promise((resolve) => setImmediate(resolve));
  scavenges = 0;
  const started = performance.now();
  run();
  const ns = ((performance.now() - started) * 1e6) / n;
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(
    `  defence stage, dynamic blocks ${dynamic ? 'on ' : 'off'}, ${label}, ${clients} clients: ${ns.toFixed(0)} ns per query (onQuery + onResponse), ${scavenges} minor GCs over ${n / 1e6}M queries`,
  );
  return ns;
}

console.log(
  'dynamic blocks: per-query cost in the defence stage (cookies and minimal ANY off, so only the counting and the block lookup differ)',
);
for (const [label, address] of [
  ['IPv4', v4],
  ['IPv6', v6],
] as const) {
  const off = await timed(label, false, address, 1000);
  const on = await timed(label, true, address, 1000);
  console.log(`    → counting costs ${(on - off).toFixed(0)} ns per query`);
}

// The main thread's tick: N prefixes each with traffic every second, default rules; the median
// of 5 ticks after 5 to warm up (each tick sees one more second of traffic).
const settings = defence(true).dynamicBlocks;
for (const n of [10_000, settings.maxTracked]) {
  const blocks = new DynamicBlocks(settings, () => {});
  const keys = Array.from({ length: n }, (_, i) => i + 1);
  const counts = new Float64Array(keys.length * 5).fill(1);
  const start = Date.now();
  const times: number[] = [];
  for (let s = 0; s < 10; s++) {
    blocks.add({ keys, counts }, start + s * 1000);
    const t0 = performance.now();
    blocks.tick(start + s * 1000);
    if (s >= 5) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `  rules tick over ${blocks.counters().tracked} tracked prefixes (${settings.rules.length} rules, 10 s windows): ${times[2].toFixed(1)} ms on the main thread (median of 5)`,
  );
}
