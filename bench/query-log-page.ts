/**
 * The console's query log and statistics on a full log: fills `<dataDir>/querylog.db` with
 * 1,000,000 rows spread over the last 24 hours (5,000 registered domains, 2,000 clients, 5 %
 * blocked; through QueryLogStore.write, so the hourly statistics are kept as the writer keeps
 * them), starts dnsward on it with the console, and times GET /api/queries searches and
 * GET /api/stats over HTTP (median of 5, after one warm-up). Numbers are reported, not asserted
 * (docs/BENCHMARKS.md). QUERY_LOG_PAGE_ROWS changes the row count.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryLogStore, type QueryRecord } from '../src/querylog/query-log-store.js';
import { startDnsward } from '../test/helpers/dnsward.js';

const ROWS = Number(process.env.QUERY_LOG_PAGE_ROWS ?? 1_000_000);
const BATCH = 20_000;
const DAY = 86_400_000;
const dataDir = mkdtempSync(join(tmpdir(), 'dnsward-query-log-page-'));

function fill(): number {
  const store = new QueryLogStore(join(dataDir, 'querylog.db'));
  const now = Date.now();
  const started = performance.now();
  for (let done = 0; done < ROWS; done += BATCH) {
    const rows: QueryRecord[] = [];
    for (let i = done; i < Math.min(ROWS, done + BATCH); i++) {
      const domain = `site${(i * 7919) % 5000}.example`;
      const blocked = i % 20 === 0;
      rows.push({
        t: now - DAY + Math.floor((i / ROWS) * DAY),
        client: `10.0.${(i >> 8) % 8}.${i % 250}`,
        transport: 'udp',
        qname: `host${i % 40_000}.${domain}`,
        domain,
        qtype: i % 4 === 0 ? 28 : 1,
        rcode: blocked ? 3 : 0,
        type: blocked ? 'blocked' : i % 3 === 0 ? 'cached' : 'answered',
        reason: blocked ? 'policy: ads feed local-ads' : '',
        upstream: '127.0.0.1:53',
        latencyMs: 1.5,
      });
    }
    store.write(rows, []);
  }
  store.close();
  return ROWS / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const rate = fill();
  console.log(
    `filled ${ROWS.toLocaleString('en')} rows at ${Math.round(rate).toLocaleString('en')} rows/s (statistics kept as written)`,
  );
  const dw = await startDnsward(
    `dataDir: ${dataDir}\nlisten: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:9"] }\nconsole: { listen: "127.0.0.1:0" }\nqueryLog: { mode: all, maxSize: 4GiB }\n`,
  );
  try {
    const base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
    const headers = {
      authorization: `Bearer ${dw.consoleServer!.users.createToken('bench', 'viewer', 'bench').token}`,
    };
    const time = async (path: string) => {
      const ms: number[] = [];
      let body: { queries?: unknown[]; next?: string | null; total?: number } = {};
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        const r = await fetch(`${base}${path}`, { headers });
        body = (await r.json()) as typeof body;
        if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
        if (i > 0) ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      const what =
        body.queries !== undefined ? `${body.queries.length} rows` : `total ${body.total?.toLocaleString('en')}`;
      console.log(
        `${path.padEnd(48)} ${ms[2].toFixed(1).padStart(8)} ms median (${ms[0].toFixed(1)}–${ms[4].toFixed(1)}), ${what}`,
      );
      return body;
    };
    const first = await time('/api/queries?limit=50');
    await time(`/api/queries?limit=50&cursor=${first.next}`);
    await time('/api/queries?limit=50&offset=5000');
    await time('/api/queries?limit=50&q=host123');
    await time('/api/queries?limit=50&q=host39999.site');
    await time('/api/queries?limit=50&q=not-in-the-log');
    await time('/api/queries?limit=50&q=not-in-the-log&from=1h');
    await time('/api/queries?limit=50&q=host1&match=prefix');
    await time('/api/queries?limit=50&client=10.0.3.7');
    await time('/api/queries?limit=50&action=blocked');
    await time('/api/queries?limit=50&domain=site17.example');
    await time('/api/queries?limit=500&type=AAAA&action=blocked');
    await time('/api/stats?range=24h');
    await time('/api/stats?range=7d');
  } finally {
    await dw.stop();
  }
}

await main();
