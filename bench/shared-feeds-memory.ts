/**
 * What posting the feeds to worker threads costs in memory: a 1M-rule hosts feed loaded by a
 * FeedManager, then posted (feedsMessage) to 2 worker threads that each make a SharedFeeds and a
 * PolicyEngine of it and look names up. `copy` posts the same tables as plain ArrayBuffers
 * instead, which each worker then holds a copy of: what sharing saves.
 * Run: node --expose-gc dist/bench/shared-feeds-memory.js [shared|copy]
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FeedManager } from '../src/policy/feed-manager.js';
import { feedsMessage, type SharedFeedsMessage } from '../src/policy/shared-feeds.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const mode = process.argv[2] ?? 'shared';
if (mode !== 'shared' && mode !== 'copy') throw new Error('mode: shared or copy');
const RULES = 1_000_000;
const WORKERS = 2;

const WORKER = `
  const { parentPort } = await import('node:worker_threads');
  const { SharedFeeds } = await import(${JSON.stringify(new URL('../src/policy/shared-feeds.js', import.meta.url).href)});
  const { PolicyEngine } = await import(${JSON.stringify(new URL('../src/policy/policy-engine.js', import.meta.url).href)});
  const { nameToWire } = await import(${JSON.stringify(new URL('../src/dns/name.js', import.meta.url).href)});
  let kept;
  parentPort.on('message', (m) => {
    const feeds = new SharedFeeds(m.feeds);
    const engine = new PolicyEngine(feeds, m.policy);
    const group = engine.groupOf('127.0.0.1');
    const blocked = ['h7.bench-feed.test', 'h999999.bench-feed.test', 'absent.test'].map((n) => engine.decideBytes(nameToWire(n), 0, group) !== null);
    kept = engine;
    globalThis.gc?.();
    const slots = feeds.feeds.get('bench').rules.data.slots;
    parentPort.postMessage({ blocked, shared: slots.buffer instanceof SharedArrayBuffer, memory: process.memoryUsage() });
  });
  parentPort.postMessage('ready');`;

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
function report(label: string): NodeJS.MemoryUsage {
  gc!();
  const m = process.memoryUsage();
  console.log(
    `  ${label.padEnd(44)} RSS ${mib(m.rss).padStart(8)}   main thread's array buffers ${mib(m.arrayBuffers).padStart(8)}`,
  );
  return m;
}

/** The same message with each table as a plain ArrayBuffer, copied (the behaviour before tables were shared). */
function unshared(message: SharedFeedsMessage): SharedFeedsMessage {
  return {
    feeds: message.feeds.map((f) => ({
      ...f,
      table: f.table === null ? null : { ...f.table, slots: f.table.slots.slice(), filter: f.table.filter.slice() },
    })),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'dnsward-shared-feeds-bench-'));
const file = join(dir, 'bench.hosts');
// Written in pieces: the whole text at once would leave this process's heap, and RSS, large.
const fd = openSync(file, 'w');
for (let i = 0; i < RULES; i += 10_000)
  writeSync(fd, Array.from({ length: 10_000 }, (_, j) => `0.0.0.0 h${i + j}.bench-feed.test\n`).join(''));
closeSync(fd);
console.log(
  `${RULES} rules in a hosts feed, posted to ${WORKERS} worker threads (${mode === 'shared' ? 'shared tables' : 'copied tables, for comparison'})`,
);
const start = report('before loading');
const manager = new FeedManager([
  { name: 'bench', category: 'ads', format: 'hosts', path: file, refreshMs: 3_600_000 },
]);
if (!(await manager.refresh('bench'))) throw new Error(`feed did not load: ${manager.feeds.get('bench')!.lastError}`);
await manager.stop();
const table = manager.feeds.get('bench')!.rules!.data;
console.log(
  `  table: ${mib(table.slots.byteLength + table.filter.byteLength)} (slots ${mib(table.slots.byteLength)}, filter ${mib(table.filter.byteLength)})`,
);
const loaded = report('loaded');
let message = feedsMessage(manager);
if (mode === 'copy') message = unshared(message);
const policy = {
  groups: [
    {
      name: 'all',
      clients: [],
      listeners: [],
      feeds: ['bench'],
      categories: [],
      allow: [],
      action: 'nxdomain' as const,
      mode: 'block' as const,
    },
  ],
  dohCanary: false,
  trustEcsFrom: [],
};

const workers = Array.from({ length: WORKERS }, () => new Worker(WORKER, { eval: true, type: 'module' } as never));
await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
const ready = report(`${WORKERS} workers started, nothing posted`);
const replies = await Promise.all(
  workers.map((w) => {
    const reply = new Promise<{ blocked: boolean[]; shared: boolean; memory: NodeJS.MemoryUsage }>((resolve) =>
      w.once('message', resolve),
    );
    w.postMessage({ feeds: message, policy });
    return reply;
  }),
);
const posted = report(`feeds posted, each worker has its engine`);
for (const [i, r] of replies.entries())
  console.log(
    `  worker ${i}: lookups blocked ${JSON.stringify(r.blocked)}, table in shared memory ${r.shared}, its own array buffers ${mib(r.memory.arrayBuffers)}`,
  );
console.log(
  `  loading the feed: RSS +${mib(loaded.rss - start.rss)}; posting it to ${WORKERS} workers: RSS +${mib(posted.rss - ready.rss)}`,
);
await Promise.all(workers.map((w) => w.terminate()));
rmSync(dir, { recursive: true, force: true });
