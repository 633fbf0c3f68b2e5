/**
 * The console's query log and statistics API against a real dnsward and unbound: real queries
 * (dig), with queryLog.mode blocked, so the search finds only the blocked rows while the
 * statistics count every query; filters, paging, the client page's counts, and access.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { QueryPage, QueryStats } from '../../src/console/web/api-types.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('console query log and statistics API', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let base: string;
  let viewer: Record<string, string>;

  const get = async <T>(path: string, headers = viewer): Promise<{ status: number; body: T }> => {
    const r = await fetch(`${base}${path}`, { headers });
    return { status: r.status, body: (await r.json()) as T };
  };

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10', 'mail.example.test. 300 IN A 192.0.2.11'],
    });
    const feed = join(mkdtempSync(join(tmpdir(), 'dnsward-cq-')), 'blocked.txt');
    writeFileSync(feed, 'ads.blocked.test\ntracker.blocked.test\n');
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0" }\nqueryLog: { mode: blocked }\npolicy:\n  feeds: [{ name: local-ads, category: ads, path: "${feed}" }]\n  groups: [{ name: everyone, feeds: [local-ads] }]\n`,
    );
    base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
    viewer = { authorization: `Bearer ${dw.consoleServer!.users.createToken('cq-viewer', 'viewer', 'test').token}` };
    for (let i = 0; i < 7; i++) await dig('127.0.0.1', dw.port, ['www.example.test', 'A']);
    await dig('127.0.0.1', dw.port, ['mail.example.test', 'AAAA']);
    for (let i = 0; i < 3; i++) await dig('127.0.0.1', dw.port, ['ads.blocked.test', 'A']);
    await dig('127.0.0.1', dw.port, ['tracker.blocked.test', 'AAAA']);
    await dw.server.queryLog.settle();
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('refuses both without a login', async () => {
    assert.equal((await fetch(`${base}/api/queries`)).status, 401);
    assert.equal((await fetch(`${base}/api/stats`)).status, 401);
  });

  it('counts every query in the statistics though only the blocked ones are logged', async () => {
    const { status, body } = await get<QueryStats>('/api/stats?range=24h');
    assert.equal(status, 200);
    assert.equal(body.queryLogMode, 'blocked');
    assert.equal(body.total, 12);
    assert.equal(body.blocked, 4);
    assert.deepEqual(body.byAction, { answered: 2, cached: 6, blocked: 4 });
    assert.deepEqual(body.topDomains, [
      { domain: 'example.test', n: 8 },
      { domain: 'blocked.test', n: 4 },
    ]);
    assert.deepEqual(body.topBlocked, [{ domain: 'blocked.test', n: 4 }]);
    assert.deepEqual(body.topClients, [{ client: '127.0.0.1', n: 12, blocked: 4 }]);
    assert.equal(body.hours.length, 24);
    assert.equal(
      body.hours.reduce((n, h) => n + h.total, 0),
      12,
    );
    const week = await get<QueryStats>('/api/stats?range=7d');
    assert.equal(week.body.hours.length, 168);
    assert.equal(week.body.total, 12);
    assert.equal((await get('/api/stats?range=1y')).status, 400);
  });

  it('searches the logged rows by name, action, type and client, newest first', async () => {
    const all = await get<QueryPage>('/api/queries');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.queries.map((q) => q.qname),
      ['tracker.blocked.test', 'ads.blocked.test', 'ads.blocked.test', 'ads.blocked.test'],
    );
    assert.equal(all.body.next, null);
    assert.equal((await get<QueryPage>('/api/queries?q=TRACK')).body.queries.length, 1);
    assert.equal((await get<QueryPage>('/api/queries?q=ads&match=prefix')).body.queries.length, 3);
    assert.equal((await get<QueryPage>('/api/queries?q=blocked&match=prefix')).body.queries.length, 0);
    const aaaa = await get<QueryPage>('/api/queries?type=AAAA&action=blocked&client=127.0.0.1');
    assert.deepEqual(
      aaaa.body.queries.map((q) => [q.qname, q.qtypeName, q.type]),
      [['tracker.blocked.test', 'AAAA', 'blocked']],
    );
    assert.equal((await get<QueryPage>('/api/queries?client=10.9.9.9')).body.queries.length, 0);
    assert.equal((await get<QueryPage>('/api/queries?from=1h')).body.queries.length, 4);
    assert.equal((await get<QueryPage>(`/api/queries?to=${Date.now() - 3_600_000}`)).body.queries.length, 0);
  });

  it('pages by cursor and by offset, and refuses what it cannot read', async () => {
    const first = await get<QueryPage>('/api/queries?limit=3');
    assert.equal(first.body.queries.length, 3);
    assert.match(first.body.next ?? '', /^\d+-\d+$/);
    const second = await get<QueryPage>(`/api/queries?limit=3&cursor=${first.body.next}`);
    assert.deepEqual(
      second.body.queries.map((q) => q.qname),
      ['ads.blocked.test'],
    );
    assert.equal(second.body.next, null);
    const byOffset = await get<QueryPage>('/api/queries?limit=3&offset=3');
    assert.deepEqual(
      byOffset.body.queries.map((q) => q.id),
      second.body.queries.map((q) => q.id),
    );
    for (const bad of ['limit=501', 'limit=0', 'cursor=nope', 'type=NOTATYPE', 'from=yesterday-ish', 'offset=-1']) {
      const r = await get<{ error: string }>(`/api/queries?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(typeof r.body.error, 'string', bad);
    }
  });

  it("shows a client's counts on its page", async () => {
    const { body } = await get<{ stats: { total: number; blocked: number; byAction: Record<string, number> } }>(
      '/api/clients/127.0.0.1',
    );
    assert.deepEqual([body.stats.total, body.stats.blocked], [12, 4]);
    const stranger = await get<{ stats: { total: number } }>('/api/clients/10.9.9.9');
    assert.equal(stranger.body.stats.total, 0);
  });
});
