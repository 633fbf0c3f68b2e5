/**
 * Response-rate limiting, DNS cookies and minimal ANY: the cost per answer of the defence
 * stage's response step with RRL on (IPv4 clients already tracked), of a query carrying a valid
 * server cookie (check, strip, mint, put on the answer), of SipHash alone, and the minor GCs
 * (scavenges) over a million answers. Run with --expose-gc.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { ServerCookies } from '../src/defence/server-cookies.js';
import { sipHash24 } from '../src/defence/siphash.js';
import * as dnsPacket from 'dns-packet';
import { parseInto } from '../src/dns/query-parser.js';
import { QueryContext, type ReplySink, ResponseType } from '../src/pipeline/query-context.js';
import type { PipelineControl } from '../src/pipeline/stage.js';
import { type DefenceSettings, DefenceStage } from '../src/pipeline/stages/defence-stage.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const SECRET = 'e5e973e5a6b2a43f48e7dc849e37bfcf';
const N = 1_000_000;

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
      scavenges++;
}).observe({ entryTypes: ['gc'] });

const settings: DefenceSettings = {
  clientRate: {
    enabled: false,
    rate: 1,
    burst: 1,
    ipv4Prefix: 32,
    ipv6Prefix: 64,
    action: 'drop',
    exempt: [],
    maxTracked: 1000,
  },
  // Loose enough that every answer is sent: the cost measured is the accounting.
  responseRate: {
    enabled: true,
    responsesPerSecond: 1e9,
    window: 15_000,
    slip: 2,
    ipv4Prefix: 24,
    ipv6Prefix: 56,
    exempt: [],
    maxTracked: 100_000,
  },
  cookies: { enabled: true, secret: SECRET, enforce: false },
  minimalAny: true,
};
const sink: ReplySink = { listenerKey: 'bench', send: () => {}, drop: () => {} };
const control: PipelineControl = { next: () => {}, respond: () => {}, drop: () => {} };
const v4 = (i: number) => `172.${16 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;

function request(name: string, cookie?: Buffer): Buffer {
  const options = cookie === undefined ? [] : [{ code: 10, data: cookie }];
  return dnsPacket.encode({
    type: 'query',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as unknown as dnsPacket.Answer],
  });
}
const answer = dnsPacket.encode({
  type: 'response',
  id: 1,
  flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
  questions: [{ type: 'A', name: 'www0.example.test', class: 'IN' }],
  answers: [{ type: 'A', name: 'www0.example.test', ttl: 300, data: '192.0.2.1' }],
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer],
});

async function measure(label: string, run: (i: number) => void): Promise<void> {
  for (let i = 0; i < N; i++) run(i); // warm up
  gc!();
  await new Promise((resolve) => setImmediate(resolve));
  scavenges = 0;
  const started = performance.now();
  for (let i = 0; i < N; i++) run(i);
  const ns = ((performance.now() - started) * 1e6) / N;
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(`  ${label}: ${ns.toFixed(0)} ns, ${scavenges} minor GCs over ${N / 1e6}M`);
}

console.log('response-rate limiting, DNS cookies (defence stage, per answer)');
{
  // 1000 clients × 10 names, contexts made beforehand (the listener's work, not the stage's).
  const stage = new DefenceStage(settings);
  const requests = Array.from({ length: 10 }, (_, i) => request(`www${i}.example.test`));
  const contexts = Array.from({ length: 10_000 }, (_, i) => {
    const r = requests[i % 10];
    const ctx = new QueryContext(r, 'udp', v4(i % 1000), 5353, sink, null, 1000 + i / 1000);
    parseInto(r, r.length, ctx.query, { reason: '' });
    ctx.responseType = ResponseType.CACHED;
    return ctx;
  });
  await measure('RRL on, no cookie: response step (10,000 buckets)', (i) => {
    const ctx = contexts[i % contexts.length];
    ctx.answer = answer;
    stage.onResponse(ctx);
  });
}
{
  const stage = new DefenceStage(settings);
  // A valid server cookie for 172.16.0.1, as the client would hold it.
  const client = Buffer.from('0123456789abcdef', 'hex');
  const server = Buffer.alloc(16);
  new ServerCookies(Buffer.from(SECRET, 'hex')).mint(
    client,
    0,
    Uint8Array.of(172, 16, 0, 1),
    Math.floor(Date.now() / 1000),
    server,
    0,
  );
  const r = request('www0.example.test', Buffer.concat([client, server]));
  let valid = 0;
  await measure('valid server cookie: query step (check, strip) + response step (mint, put on)', (i) => {
    const ctx = new QueryContext(r, 'udp', '172.16.0.1', 5353, sink, null, 1000 + i / 1000);
    parseInto(r, r.length, ctx.query, { reason: '' });
    stage.onQuery(ctx, control);
    ctx.responseType = ResponseType.CACHED;
    ctx.answer = answer;
    stage.onResponse(ctx);
    if (ctx.cookieValid) valid++;
  });
  if (valid !== 2 * N) throw new Error(`cookie not valid (${valid})`);
  console.log('    (includes a QueryContext and its parse per query, as in the server)');
}
{
  const key = Buffer.from(SECRET, 'hex');
  const input = Buffer.alloc(28);
  const out = Buffer.alloc(8);
  await measure('SipHash-2-4 of a 28-byte RFC 9018 input', (i) => {
    input[0] = i;
    sipHash24(key, input, 0, 28, out, 0);
  });
}
