/**
 * The local allow and deny lists: written as RPZ zones their feeds read, first in every group
 * (allow before deny); changed from the console's API (admins, audited with the comment) and in
 * force when the answer comes, without a reload; listed by `dnsward feeds`; kept across a
 * restart. Then in Chromium: an entry added on the Feeds & lists page, and the query log's
 * quick "Allow". Against a real dnsward and unbound, checked with dig. Screenshots go to
 * $DNSWARD_SCREENSHOTS.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import type { ListsAnswer } from '../../src/console/web/api-types.js';
import { ControlServer } from '../../src/control/control-server.js';
import { parseFeed } from '../../src/policy/feed-parse.js';
import { listDomain, renderList, withLocalLists } from '../../src/policy/local-lists.js';
import { runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the lists';
const shots = process.env.DNSWARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dnsward-lists-shots-'));
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

describe('local lists as feeds (pure)', () => {
  it('writes each list as an RPZ zone: the name and everything under it', () => {
    const entries = [
      { list: 'deny' as const, domain: 'evil.test', addedAt: 1, addedBy: 'a' },
      { list: 'allow' as const, domain: 'fine.test', addedAt: 1, addedBy: 'a' },
    ];
    const deny = parseFeed(renderList('deny', entries, 1_700_000_000), 'rpz');
    assert.equal(deny.refused, undefined);
    assert.equal(deny.errors, 0, JSON.stringify(deny.errorExamples));
    assert.equal(deny.rules, 2, 'evil.test and *.evil.test');
    assert.equal(deny.serial, 1_700_000_000);
    const allow = parseFeed(renderList('allow', entries, 5), 'rpz');
    assert.equal(allow.rules, 2);
    const empty = parseFeed(renderList('allow', [], 5), 'rpz');
    assert.equal(empty.refused, undefined, 'an empty list is a feed with no rule, not an error');
    assert.equal(empty.rules, 0);
  });

  it('takes names only, lower-cased, without the trailing dot', () => {
    assert.equal(listDomain(' Ads.Example.COM. '), 'ads.example.com');
    assert.equal(listDomain('_dmarc.example.com'), '_dmarc.example.com');
    for (const bad of ['', '*.example.com', 'exa mple.com', '-a.com', 'a..com', `${'a'.repeat(64)}.com`, 'x/y'])
      assert.throws(() => listDomain(bad), /not a domain name/, bad);
  });

  it('puts allow then deny first in every group, and makes the everyone group when there is none', () => {
    const config = (text: string) =>
      validateConfig(
        parseConfigText(`listen: ["127.0.0.1:53"]\nupstreams: { servers: ["127.0.0.1:5300"] }\n${text}`, 't'),
        't',
      );
    const none = withLocalLists(config(''));
    assert.deepEqual(
      none.policy.groups.map((g) => [g.name, g.feeds]),
      [['default', ['local-allow', 'local-deny']]],
    );
    const two = withLocalLists(
      config(
        `policy:\n  feeds: [{ name: ads, category: ads, path: /nonexistent }]\n  groups: [{ name: a, clients: [10.0.0.0/8], feeds: [ads] }, { name: b, categories: [ads] }]\n`,
      ),
    );
    assert.deepEqual(
      two.policy.groups.map((g) => g.feeds),
      [
        ['local-allow', 'local-deny', 'ads'],
        ['local-allow', 'local-deny'],
      ],
    );
    assert.deepEqual(
      two.policy.feeds.map((f) => f.name),
      ['ads', 'local-allow', 'local-deny'],
    );
    assert.deepEqual(withLocalLists(two), two, 'applied twice, the same');
    assert.throws(
      () => config(`policy:\n  feeds: [{ name: local-deny, category: ads, path: /x }]\n`),
      /the console's local list/,
    );
  });
});

describe('local lists from the console, with dig and Chromium', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let browser: Browser;
  let page: Page;
  let base: string;
  let cookie = '';
  let csrf = '';
  let dataDir = '';
  let configText = '';
  const cspViolations: string[] = [];

  const get = async <T>(path: string) => {
    const r = await fetch(`${base}${path}`, { headers: { cookie } });
    return { status: r.status, body: (await r.json()) as T };
  };
  const post = async (path: string, body: object) => {
    const r = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as ListsAnswer & { error?: string } };
  };
  const answer = async (name: string) => {
    const r = await dig('127.0.0.1', dw.port, [name, 'A']);
    return r.status === 'NOERROR' ? r.answers.map((a) => a.split(/\s+/).pop()).join(',') : r.status;
  };
  const start = async () => {
    process.env.DNSWARD_ADMIN_PASSWORD = ADMIN_PASSWORD;
    try {
      dw = await startDnsward(configText);
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
    }
    base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.equal(login.status, 200);
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    csrf = (await get<{ csrfToken: string }>('/api/me')).body.csrfToken;
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# local lists screenshots: ${shots}`);
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: [
        'www.example.test. 300 IN A 192.0.2.10',
        'ads.example.test. 300 IN A 192.0.2.20',
        'mail.example.test. 300 IN A 192.0.2.30',
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-lists-'));
    dataDir = join(dir, 'var');
    const feed = join(dir, 'ads.txt');
    writeFileSync(feed, 'ads.example.test\n');
    // A configured group and feed: the lists join the group, the allow list beats the feed.
    configText = `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0" }\nqueryLog: { mode: all }\ndataDir: ${dataDir}\npolicy:\n  feeds: [{ name: ads, category: ads, path: "${feed}" }]\n  groups: [{ name: office, feeds: [ads] }]\n`;
    await start();
  });

  after(async () => {
    await browser?.close();
    await dw?.stop();
    await unbound?.stop();
  });

  it('blocks a name on the deny list at once, and lets it through when removed, audited with the comment', async () => {
    assert.equal(await answer('www.example.test'), '192.0.2.10');
    const added = await post('/api/lists/deny', { domain: 'Example.TEST.', comment: 'phishing campaign, ticket 7' });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.entry?.domain, 'example.test');
    assert.equal(added.body.feeds.deny?.rules, 2);
    // In force when the answer came: no reload, no wait.
    const blocked = await dig('127.0.0.1', dw.port, ['www.example.test', 'A']);
    assert.equal(blocked.status, 'NXDOMAIN');
    assert.match(
      blocked.raw,
      /denylist \(local-deny serial \d+\) rule "\*\.example\.test CNAME \." line \d+, group office/,
    );

    const audit = (
      await get<{ audit: Array<{ action: string; subject: string; who: string; comment?: string }> }>('/api/audit')
    ).body.audit;
    assert.deepEqual(
      audit.filter((a) => a.action === 'denylist-add').map((a) => [a.subject, a.who, a.comment]),
      [['example.test', 'admin (console)', 'phishing campaign, ticket 7']],
    );

    const removed = await post('/api/lists/deny/remove', { domain: 'example.test' });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(removed.body.deny, []);
    assert.equal(await answer('www.example.test'), '192.0.2.10');
    assert.equal((await post('/api/lists/deny/remove', { domain: 'example.test' })).status, 400, 'not on the list');
  });

  it('lets a name on the allow list through a feed that blocks it', async () => {
    assert.equal(await answer('ads.example.test'), 'NXDOMAIN', 'the ads feed blocks it');
    assert.equal((await post('/api/lists/allow', { domain: 'ads.example.test' })).status, 200);
    assert.equal(await answer('ads.example.test'), '192.0.2.20');
  });

  it('refuses what is not a name, a list or a one-line comment', async () => {
    assert.equal((await post('/api/lists/deny', { domain: '*.x.test' })).status, 400);
    assert.equal((await post('/api/lists/grey', { domain: 'x.test' })).status, 400);
    assert.equal((await post('/api/lists/deny', { domain: 'x.test', comment: 'a\nb' })).status, 400);
    assert.equal((await post('/api/lists/deny', { domain: 'x.test', comment: 'x'.repeat(501) })).status, 400);
    assert.deepEqual((await get<ListsAnswer>('/api/lists')).body.deny, [], 'nothing was added');
  });

  it('lists the lists as feeds in `dnsward feeds`, and keeps them across a restart', async () => {
    // The control socket `dnsward serve` opens, on this in-process server: the real CLI talks to it.
    const control = new ControlServer(dataDir, dw.server, pino({ level: 'silent' }));
    await control.start();
    const feeds = await runCli(['feeds', '--data-dir', dataDir]).finally(() => control.stop());
    assert.equal(feeds.code, 0, feeds.stderr);
    assert.match(
      feeds.stdout,
      /local-allow \(allowlist\) .*local-allow\.rpz\n {2}2 rules, version serial \d+, .*groups: office/,
    );
    assert.match(feeds.stdout, /local-deny \(denylist\) .*local-deny\.rpz\n {2}0 rules/);
    await dw.stop();
    await start();
    assert.deepEqual(
      (await get<ListsAnswer>('/api/lists')).body.allow.map((e) => [e.domain, e.addedBy]),
      [['ads.example.test', 'admin (console)']],
    );
    assert.equal(await answer('ads.example.test'), '192.0.2.20', 'still allowed after the restart');
  });

  it('adds an entry on the Feeds & lists page and from a query log row (Chromium)', async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${base}/`);
    await page.fill('#username', 'admin');
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login');
    await page.waitForSelector('#stat-qps', { timeout: 30_000 });
    await page.goto(`${base}/#/feeds`);
    await page.waitForSelector('#local-lists');
    await page.fill('#list-domain', 'mail.example.test');
    await page.click('#list-add-deny');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.fill('#confirm-comment', 'spam relay');
    await page.click('#confirm-ok');
    await page.waitForSelector('#list-deny .list-entry:has-text("mail.example.test")');
    assert.match((await page.textContent('#list-deny tbody tr')) ?? '', /admin \(console\).*spam relay/);
    assert.equal(await answer('mail.example.test'), 'NXDOMAIN');
    await page.screenshot({ path: join(shots, 'console-lists.png'), fullPage: true });

    // A query log row's quick action puts its registered domain on a list.
    await dig('127.0.0.1', dw.port, ['quick.example.test', 'A']);
    await dw.server.queryLog.settle();
    await page.goto(`${base}/#/queries?q=quick.example.test`);
    await page.waitForSelector('#queries-table .quick-allow[data-domain="example.test"]');
    await page.click('#queries-table .quick-allow[data-domain="example.test"]');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-ok');
    await page.waitForSelector('#toast .msg:has-text("example.test: on the allow list")');
    assert.ok((await get<ListsAnswer>('/api/lists')).body.allow.some((e) => e.domain === 'example.test'));
    assert.deepEqual(cspViolations, []);
  });
});

describe('local lists with I/O threads', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nthreads: 1\n`,
    );
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('reaches the I/O threads: blocked, then answered again, without a reload', async () => {
    const status = async () => (await dig('127.0.0.1', dw.port, ['www.example.test', 'A'])).status;
    // Bounded: the threads get the new table in a message, not in the same call.
    const until = async (want: string) => {
      for (let i = 0; i < 50 && (await status()) !== want; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await status(), want);
    };
    assert.equal(await status(), 'NOERROR');
    await dw.server.control({ cmd: 'list-add', list: 'deny', domain: 'www.example.test', who: 'test' });
    await until('NXDOMAIN');
    await dw.server.control({ cmd: 'list-remove', list: 'deny', domain: 'www.example.test', who: 'test' });
    await until('NOERROR');
  });
});
