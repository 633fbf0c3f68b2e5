/** The query log: every query and security event lands in SQLite off the query path, and the CLI searches it. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { securityEvent } from '../../src/events/security-event.js';
import { wireKeyOf } from '../../src/dns/name.js';
import type { QueryContext } from '../../src/pipeline/query-context.js';
import { QueryLog } from '../../src/querylog/query-log.js';
import { type QueryRecord, QueryLogStore } from '../../src/querylog/query-log-store.js';
import { runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const jsonLines = <T>(text: string): T[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

describe('query log', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nqueryLog: { mode: all }\n`,
    );
    await dig('127.0.0.1', dw.port, ['www.example.test', 'A']);
    await dig('127.0.0.1', dw.port, ['WWW.Example.test', 'A']);
    const r = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.leaky-ql.test`,
        'TXT',
      ]);
    await dw.server.events.drain();
    await dw.server.queryLog.settle();
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('records each query with its name, action, rcode, latency and upstream; the CLI finds them by domain', async () => {
    const { code, stdout, stderr } = await runCli([
      'queries',
      '--data-dir',
      dw.dataDir,
      '--domain',
      'example.test',
      '--json',
    ]);
    assert.equal(code, 0, stderr);
    const rows = jsonLines<QueryRecord>(stdout);
    assert.equal(rows.length, 2);
    // Newest first: the second lookup came from the cache.
    assert.deepEqual(
      rows.map((q) => q.type),
      ['cached', 'answered'],
    );
    for (const q of rows) {
      assert.equal(q.qname, 'www.example.test');
      assert.equal(q.domain, 'example.test');
      assert.equal(q.client, '127.0.0.1');
      assert.equal(q.transport, 'udp');
      assert.equal(q.qtype, 1);
      assert.equal(q.rcode, 0);
      assert.ok(q.latencyMs >= 0 && q.latencyMs < 5000);
      assert.ok(Math.abs(q.t - Date.now()) < 60_000);
    }
    assert.equal(rows[1].upstream, `127.0.0.1:${unbound.port}`);
  });

  it('finds blocked queries by action and client, with the reason, on the CLI and from the server', async () => {
    const { stdout } = await runCli([
      'queries',
      '--data-dir',
      dw.dataDir,
      '--action',
      'blocked',
      '--client',
      '127.0.0.1',
      '--json',
    ]);
    const rows = jsonLines<QueryRecord>(stdout);
    assert.ok(rows.length >= 1 && rows.length <= 12, `${rows.length} blocked`);
    for (const q of rows) {
      assert.equal(q.domain, 'leaky-ql.test');
      assert.equal(q.rcode, 3);
      assert.match(q.reason, /TG-[0-9a-f]{8}/);
    }
    const fromServer = await dw.server.queryLog.queries({ type: 'blocked' });
    assert.deepEqual(
      fromServer.map((q) => q.qname),
      rows.map((q) => q.qname),
    );
    const none = await runCli(['queries', '--data-dir', dw.dataDir, '--action', 'blocked', '--client', '10.9.9.9']);
    assert.equal(none.stdout.trim(), '');
  });

  it('keeps every security event with its stage trace; `dnsward events` filters by type and shows the stages', async () => {
    const json = await runCli(['events', '--data-dir', dw.dataDir, '--type', 'domain_blocked', '--json']);
    const events = jsonLines<{ type: string; domain: string; incident: string; stages: Array<{ name: string }> }>(
      json.stdout,
    );
    assert.equal(events.length, 1);
    assert.equal(events[0].domain, 'leaky-ql.test');
    assert.deepEqual(
      events[0].stages.map((s) => s.name),
      ['anatomy', 'query', 'state', 'normal', 'decision'],
    );
    const text = await runCli(['events', '--data-dir', dw.dataDir, '--incident', events[0].incident]);
    assert.match(text.stdout, /domain_blocked \(severity 8\)/);
    assert.match(text.stdout, /^ +decision /m);
    const old = await runCli(['events', '--data-dir', dw.dataDir, '--until', '1h']);
    assert.equal(old.stdout.trim(), '', 'nothing is older than an hour');
  });

  it('says what is wrong with a bad filter or a missing log', async () => {
    const bad = await runCli(['queries', '--data-dir', dw.dataDir, '--since', 'yesterday-ish']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since must be a duration back from now/);
    const missing = await runCli(['events', '--data-dir', join(tmpdir(), 'no-such-dnsward-dir')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no query log at .*querylog\.db/);
  });
});

describe('query log retention', () => {
  const row = (t: number, i: number): QueryRecord => ({
    t,
    client: `10.0.${i % 250}.1`,
    transport: 'udp',
    qname: `n${i}.example.test`,
    domain: 'example.test',
    qtype: 1,
    rcode: 0,
    type: 'answered',
    reason: 'x'.repeat(200),
    upstream: 'u',
    latencyMs: 1,
  });

  it('drops rows older than maxAge, queries and events alike', () => {
    const store = new QueryLogStore(join(mkdtempSync(join(tmpdir(), 'dnsward-ql-')), 'q.db'));
    const now = Date.now();
    store.write(
      [row(now - 3_600_000, 1), row(now - 10, 2)],
      [
        securityEvent({
          type: 'tunnel_detected',
          severity: 5,
          time: new Date(now - 3_600_000).toISOString(),
          reasons: [],
          stages: [],
        }),
      ],
    );
    assert.equal(store.retain(60_000, 1 << 30, now), 2);
    assert.deepEqual(
      store.queries({}).map((q) => q.qname),
      ['n2.example.test'],
    );
    assert.equal(store.events({}).length, 0);
    store.close();
  });

  it('commits batches sent back to back together, and a search sees every write sent before it', async () => {
    const log = new QueryLog({
      path: join(mkdtempSync(join(tmpdir(), 'dnsward-ql-')), 'q.db'),
      mode: 'all',
      maxAgeMs: 86_400_000,
      maxBytes: 1 << 30,
    });
    const keepAlive = setInterval(() => {}, 1000);
    try {
      const BATCH = 4096;
      const batches = 12;
      for (let i = 0; i < BATCH * batches; i++) {
        log.observe({
          startedAt: performance.now(),
          query: { qtype: 1 },
          answer: null,
          clientAddress: `10.1.${i % 7}.1`,
          transport: 'udp',
          questionKey: wireKeyOf([`h${i}`, 'group-commit', 'test']),
          responseType: 'blocked',
          reason: 'test',
          upstream: '',
        } as unknown as QueryContext);
      }
      // No settle: the search goes behind twelve writes the thread may not have committed yet.
      const counts = await log.counts();
      assert.equal(counts.queries, BATCH * batches);
      assert.equal(log.dropped, 0);
      assert.equal(log.writeErrors, 0);
      const oneClient = await log.queries({ client: '10.1.0.1', limit: 10_000 });
      assert.equal(oneClient.length, Math.ceil((BATCH * batches) / 7));
      assert.ok(
        oneClient.every(
          (q) => /^h\d+\.group-commit\.test$/.test(q.qname) && Number(q.qname.slice(1).split('.')[0]) % 7 === 0,
        ),
      );
    } finally {
      await log.close();
      clearInterval(keepAlive);
    }
  });

  it('keeps the live data under maxSize by deleting the oldest queries first', () => {
    const store = new QueryLogStore(join(mkdtempSync(join(tmpdir(), 'dnsward-ql-')), 'q.db'));
    const now = Date.now();
    for (let b = 0; b < 10; b++)
      store.write(
        Array.from({ length: 2000 }, (_, i) => row(now - 100_000 + b * 2000 + i, b * 2000 + i)),
        [securityEvent({ type: 'tunnel_detected', severity: 5, reasons: [], stages: [] })],
      );
    const before = store.liveBytes();
    assert.ok(before > 4 << 20, `${before} bytes written`);
    const max = 2 << 20;
    assert.ok(store.retain(86_400_000, max, now) > 0);
    assert.ok(store.liveBytes() <= max, `${store.liveBytes()} > ${max}`);
    const newest = store.queries({ limit: 1 })[0];
    assert.equal(newest.qname, 'n19999.example.test', 'the newest query is kept');
    assert.equal(store.events({}).length, 10, 'events outlive queries');
    store.close();
  });
});
