/**
 * The query log's writer thread: how many rows a second it turns into SQLite rows (name decoded,
 * registered domain looked up, five indexes and the hourly statistics updated). With `queryLog.mode: blocked` every
 * blocked query is a row, so this rate bounds how many blocked names a second dnsward can log
 * before it drops rows (counted). Rows: distinct names under a few thousand registered domains,
 * with policy reasons of the length the policy stage writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wireKeyOf } from '../src/dns/name.js';
import type { QueryContext } from '../src/pipeline/query-context.js';
import { QueryLog } from '../src/querylog/query-log.js';

const ROWS = Number(process.env.QUERY_LOG_BENCH_ROWS ?? 400_000);
const CHUNK = 4096;
const dir = mkdtempSync(join(tmpdir(), 'dnsward-query-log-bench-'));
const log = new QueryLog({
  path: join(dir, 'querylog.db'),
  mode: 'all',
  maxAgeMs: 86_400_000,
  maxBytes: 4 * 1024 ** 3,
});

const REASON =
  'policy: malware feed "urlhaus" v2026-11-28T18:00:00Z line 123456: ||bad-domain-example.com^ (group default)';
const contexts: QueryContext[] = Array.from(
  { length: CHUNK },
  (_, i) =>
    ({
      startedAt: performance.now(),
      query: { qtype: 1 },
      answer: null,
      clientAddress: `10.0.${(i >> 8) & 255}.${i & 255}`,
      transport: 'udp',
      questionKey: '',
      responseType: 'blocked',
      reason: REASON,
      upstream: '',
    }) as unknown as QueryContext,
);

async function run(rows: number): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < rows; done += CHUNK) {
    for (let i = 0; i < CHUNK; i++) {
      const n = done + i;
      const ctx = contexts[i];
      ctx.questionKey = wireKeyOf([`host-${n}`, `site-${n % 5000}`, n % 3 === 0 ? 'com' : 'net']);
      log.observe(ctx);
    }
    // Eight batches in flight at most, so nothing is dropped and the thread never idles.
    if ((done / CHUNK) % 8 === 7) await log.settle();
  }
  await log.settle();
  return rows / ((performance.now() - started) / 1000);
}

// The writer thread is unref'd (it never keeps dnsward alive); this keeps the bench alive.
const keepAlive = setInterval(() => {}, 1000);
await run(CHUNK * 8); // warm-up: the thread starts, the schema exists
const rate = await run(ROWS);
const dropped = log.dropped;
await log.close();
clearInterval(keepAlive);
rmSync(dir, { recursive: true, force: true });
if (dropped > 0) throw new Error(`${dropped} rows dropped: the bench must not outrun the thread`);
console.log(
  `\nQuery log writer: ${Math.round(rate).toLocaleString()} rows/s (${ROWS.toLocaleString()} blocked-query rows, distinct names, batches of ${CHUNK}).`,
);
