/**
 * The query log's hourly statistics: kept by the writer as it inserts, exact for every query
 * (also those the log keeps only as counts: mode `blocked`, or a writer behind), aged out like
 * the rows; and the console's search: filters, cursor and offset paging.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { wireKeyOf } from '../../src/dns/name.js';
import type { QueryContext } from '../../src/pipeline/query-context.js';
import { QueryLog, type QueryLogMode } from '../../src/querylog/query-log.js';
import { type QueryRecord, QueryLogStore } from '../../src/querylog/query-log-store.js';
import { clientStats, HOUR_MS, rangeStats } from '../../src/querylog/query-stats-store.js';

const tmpDb = () => join(mkdtempSync(join(tmpdir(), 'dnsward-qstats-')), 'q.db');
const row = (t: number, qname: string, domain: string, client: string, type = 'answered', qtype = 1): QueryRecord => ({
  t,
  client,
  transport: 'udp',
  qname,
  domain,
  qtype,
  rcode: 0,
  type,
  reason: '',
  upstream: 'u',
  latencyMs: 1,
});

function fakeQuery(i: number, type: string, client: string, domain: string): QueryContext {
  return {
    startedAt: performance.now(),
    query: { qtype: 1 },
    answer: null,
    clientAddress: client,
    transport: 'udp',
    questionKey: wireKeyOf([`h${i}`, ...domain.split('.')]),
    responseType: type,
    reason: 'test',
    upstream: '',
  } as unknown as QueryContext;
}

async function withLog(mode: QueryLogMode, fn: (log: QueryLog) => Promise<void>): Promise<void> {
  const log = new QueryLog({ path: tmpDb(), mode, maxAgeMs: 86_400_000, maxBytes: 1 << 30 });
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await fn(log);
  } finally {
    await log.close();
    clearInterval(keepAlive);
  }
}

describe('query statistics', () => {
  it('counts rows and count-only queries by hour, action, domain, client and blocked domain', () => {
    const store = new QueryLogStore(tmpDb());
    const now = Date.now();
    const earlier = now - 3 * HOUR_MS;
    store.write(
      [
        row(now, 'a.one.test', 'one.test', '10.0.0.1'),
        row(now, 'b.one.test', 'one.test', '10.0.0.2'),
        row(now, 'x.bad.test', 'bad.test', '10.0.0.2', 'blocked'),
        row(earlier, 'c.one.test', 'one.test', '10.0.0.1', 'cached'),
      ],
      [],
      [
        { t: now, client: '10.0.0.3', domain: 'two.test', type: 'answered', n: 5 },
        { t: now, client: '10.0.0.3', domain: '', type: 'answered', n: 2 },
      ],
    );
    const s = rangeStats(store.database, '24h', 10, now);
    assert.equal(s.total, 11);
    assert.equal(s.blocked, 1);
    assert.deepEqual(s.byAction, { answered: 9, blocked: 1, cached: 1 });
    assert.deepEqual(
      s.topDomains,
      [
        { domain: 'two.test', n: 5 },
        { domain: 'one.test', n: 3 },
        { domain: 'bad.test', n: 1 },
      ],
      'a query of unknown domain counts in totals only',
    );
    assert.deepEqual(s.topBlocked, [{ domain: 'bad.test', n: 1 }]);
    assert.deepEqual(s.topClients, [
      { client: '10.0.0.3', n: 7, blocked: 0 },
      { client: '10.0.0.1', n: 2, blocked: 0 },
      { client: '10.0.0.2', n: 2, blocked: 1 },
    ]);
    assert.equal(s.hours.length, 24);
    assert.deepEqual(s.hours.at(-1), { t: Math.floor(now / HOUR_MS) * HOUR_MS, total: 10, blocked: 1 });
    assert.equal(s.hours.at(-4)!.total, 1);
    assert.equal(rangeStats(store.database, '7d', 10, now).hours.length, 168);
    const c = clientStats(store.database, '10.0.0.1', '24h', now);
    assert.deepEqual([c.total, c.blocked, c.byAction], [2, 0, { answered: 1, cached: 1 }]);
    store.close();
  });

  it('ages statistics out by whole hours with the rows', () => {
    const store = new QueryLogStore(tmpDb());
    const now = Date.now();
    store.write(
      [row(now - 5 * HOUR_MS, 'old.test', 'old.test', '10.0.0.1'), row(now, 'new.test', 'new.test', '10.0.0.1')],
      [],
    );
    store.retain(2 * HOUR_MS, 1 << 30, now);
    const s = rangeStats(store.database, '24h', 10, now);
    assert.equal(s.total, 1);
    assert.deepEqual(
      s.topDomains.map((d) => d.domain),
      ['new.test'],
    );
    store.close();
  });

  it('with mode blocked keeps only blocked rows but counts every query', async () => {
    await withLog('blocked', async (log) => {
      for (let i = 0; i < 300; i++)
        log.observe(
          fakeQuery(i, i % 3 === 0 ? 'blocked' : 'answered', `10.2.0.${i % 4}`, i % 2 === 0 ? 'even.test' : 'odd.test'),
        );
      await log.settle();
      assert.equal((await log.counts()).queries, 100, 'only the blocked queries are rows');
      const s = await log.stats('24h', 10);
      assert.equal(s.total, 300);
      assert.equal(s.blocked, 100);
      assert.deepEqual(s.topDomains, [
        { domain: 'even.test', n: 150 },
        { domain: 'odd.test', n: 150 },
      ]);
      assert.deepEqual(s.topBlocked, [
        { domain: 'even.test', n: 50 },
        { domain: 'odd.test', n: 50 },
      ]);
      assert.equal(
        s.topClients.reduce((n, c) => n + c.n, 0),
        300,
      );
    });
  });

  it('counts the queries it had no room to log while the writer was behind', async () => {
    await withLog('all', async (log) => {
      // Twenty batches at once: sixteen fit in the writer's queue, the rest are only counted.
      const n = 4096 * 20;
      for (let i = 0; i < n; i++) log.observe(fakeQuery(i, 'answered', `10.3.0.${i % 5}`, 'busy.test'));
      await log.settle();
      assert.ok(log.dropped > 0, 'the writer was behind');
      assert.equal((await log.counts()).queries, n - log.dropped);
      const s = await log.stats('24h', 10);
      assert.equal(s.total, n, 'every query counted');
      assert.deepEqual(s.topDomains, [{ domain: 'busy.test', n }]);
      assert.deepEqual(
        s.topClients.map((c) => c.n),
        [n / 5, n / 5, n / 5, n / 5, n / 5],
      );
      assert.equal(log.untallied, 0);
    });
  });

  it('with statistics off counts only the rows', async () => {
    await withLog('blocked', async (log) => {
      log.statistics = false;
      for (let i = 0; i < 30; i++)
        log.observe(fakeQuery(i, i % 3 === 0 ? 'blocked' : 'answered', '10.5.0.1', 'few.test'));
      await log.settle();
      const s = await log.stats('24h', 10);
      assert.equal(s.total, 10);
      assert.equal(s.blocked, 10);
    });
  });

  it('counts nothing with mode off', async () => {
    await withLog('off', async (log) => {
      log.observe(fakeQuery(1, 'answered', '10.4.0.1', 'off.test'));
      assert.equal((await log.stats('24h', 10)).total, 0);
    });
  });
});

describe('query search', () => {
  const store = new QueryLogStore(tmpDb());
  const now = Date.now();
  // 120 queries, one per second back from now; every tenth blocked, every fourth AAAA.
  store.write(
    Array.from({ length: 120 }, (_, i) =>
      row(
        now - i * 1000,
        `host${i}.${i % 2 ? 'odd' : 'even'}.search.test`,
        'search.test',
        `10.5.0.${i % 3}`,
        i % 10 === 0 ? 'blocked' : 'answered',
        i % 4 === 0 ? 28 : 1,
      ),
    ),
    [],
  );

  it('filters by substring, prefix, domain, client, action, type and time', () => {
    const names = (f: Parameters<QueryLogStore['search']>[0]) => store.search(f).rows.map((r) => r.qname);
    assert.equal(names({ q: 'ODD.search', limit: 500 }).length, 60, 'a substring, any case');
    assert.deepEqual(
      names({ q: 'host11', prefix: true, limit: 500 }),
      [
        'host11.odd.search.test',
        'host110.even.search.test',
        'host111.odd.search.test',
        'host112.even.search.test',
        'host113.odd.search.test',
        'host114.even.search.test',
        'host115.odd.search.test',
        'host116.even.search.test',
        'host117.odd.search.test',
        'host118.even.search.test',
        'host119.odd.search.test',
      ].sort((a, b) => Number(a.slice(4).split('.')[0]) - Number(b.slice(4).split('.')[0])),
    );
    assert.equal(names({ q: 'ost11', prefix: true, limit: 500 }).length, 0, 'a prefix is the start of the name');
    assert.equal(names({ client: '10.5.0.1', limit: 500 }).length, 40);
    assert.equal(names({ action: 'blocked', limit: 500 }).length, 12);
    assert.equal(names({ qtype: 28, action: 'blocked', limit: 500 }).length, 6);
    assert.equal(names({ since: now - 9_500, limit: 500 }).length, 10);
    assert.equal(names({ domain: 'search.test', limit: 500 }).length, 120);
  });

  it('pages by cursor and by offset alike, newest first, without gaps or repeats', () => {
    const all = store.search({ limit: 500 }).rows;
    assert.equal(all.length, 120);
    const byCursor: number[] = [];
    let before: { t: number; id: number } | undefined;
    for (let page = 0; page < 10; page++) {
      const { rows, more } = store.search({ limit: 25, before });
      byCursor.push(...rows.map((r) => r.id));
      if (!more) break;
      before = { t: rows.at(-1)!.t, id: rows.at(-1)!.id };
    }
    assert.deepEqual(
      byCursor,
      all.map((r) => r.id),
    );
    const third = store.search({ limit: 25, offset: 50 });
    assert.deepEqual(
      third.rows.map((r) => r.id),
      all.slice(50, 75).map((r) => r.id),
    );
    assert.equal(store.search({ limit: 25, offset: 100 }).more, false);
  });
});
