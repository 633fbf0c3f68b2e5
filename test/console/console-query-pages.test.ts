/**
 * The Query log and Statistics pages in a real browser (Debian's Chromium, driven by
 * playwright-core) against a real dnsward and unbound: queries sent with dig, then searched,
 * filtered and paged on the Query log page, counted on the Statistics page; and the login page
 * shows no navigation. Screenshots go to $DNSWARD_SCREENSHOTS (default: a temporary folder,
 * printed); docs/screenshots/ holds the ones the documentation shows.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the query pages';
const shots = process.env.DNSWARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dnsward-query-pages-shots-'));
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
/** Distinct names under example.test (NXDOMAIN from unbound's local zone): more than one page of 50. */
const MISSES = 60;

describe('Query log and Statistics pages in Chromium', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let browser: Browser;
  let page: Page;
  let base: string;
  const cspViolations: string[] = [];

  const rowCount = () => page.$$eval('#queries-table tbody tr', (rows) => rows.length);
  const names = () =>
    page.$$eval('#queries-table tbody tr td:nth-child(3)', (cells) => cells.map((c) => c.textContent ?? ''));

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# query page screenshots: ${shots}`);
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10', 'mail.example.test. 300 IN AAAA 2001:db8::11'],
    });
    const feed = join(mkdtempSync(join(tmpdir(), 'dnsward-qp-')), 'blocked.txt');
    writeFileSync(feed, 'ads.blocked.test\n');
    process.env.DNSWARD_ADMIN_PASSWORD = ADMIN_PASSWORD;
    try {
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0" }\nqueryLog: { mode: all }\npolicy:\n  feeds: [{ name: local-ads, category: ads, path: "${feed}" }]\n  groups: [{ name: everyone, feeds: [local-ads] }]\n`,
      );
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
    }
    base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
    for (let i = 0; i < 7; i++) await dig('127.0.0.1', dw.port, ['www.example.test', 'A']);
    await dig('127.0.0.1', dw.port, ['mail.example.test', 'AAAA']);
    for (let i = 0; i < 3; i++) await dig('127.0.0.1', dw.port, ['ads.blocked.test', 'A']);
    for (let i = 0; i < MISSES; i += 10)
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => dig('127.0.0.1', dw.port, [`miss${i + j}.example.test`, 'A'])),
      );
    await dw.server.queryLog.settle();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await dw?.stop();
    await unbound?.stop();
  });

  it('shows no navigation and no "Log out" on the login page', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#username');
    assert.equal(await page.isVisible('header.top'), false, 'the header is hidden');
    assert.equal(await page.isVisible('#logout'), false);
    assert.equal(await page.isVisible('a[data-nav="queries"]'), false);
    await page.screenshot({ path: join(shots, 'console-login.png') });
    await page.fill('#username', 'admin');
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login');
    await page.waitForSelector('#stat-qps', { timeout: 30_000 });
    assert.equal(await page.isVisible('#logout'), true, 'and shows them once logged in');
  });

  it('lists the logged queries newest first and pages through them', async () => {
    await page.click('a[data-nav="queries"]');
    await page.waitForSelector('#queries-table');
    assert.equal(
      await page.isVisible('#queries-loading'),
      false,
      'the loading indicator is gone once the rows are there',
    );
    assert.equal(await rowCount(), 50);
    assert.equal(await page.textContent('#queries-range'), 'rows 1–50');
    assert.equal(await page.isDisabled('#queries-newer'), true);
    await page.screenshot({ path: join(shots, 'console-query-log.png') });
    await page.click('#queries-older');
    await page.waitForSelector('#queries-range:has-text("rows 51–71")');
    assert.equal(await rowCount(), 21);
    assert.equal(await page.isDisabled('#queries-older'), true, 'the last page');
    assert.match((await names()).at(-1) ?? '', /^www\.example\.test$/, 'the oldest query last');
    await page.click('#queries-newer');
    await page.waitForSelector('#queries-range:has-text("rows 1–50")');
  });

  it('searches by part of the name, and filters by action and type', async () => {
    await page.fill('#query-search', 'ADS.blocked');
    await page.click('#queries-submit');
    await page.waitForFunction(() => document.querySelectorAll('#queries-table tbody tr').length === 3);
    assert.deepEqual(await names(), ['ads.blocked.test', 'ads.blocked.test', 'ads.blocked.test']);
    assert.match(page.url(), /#\/queries\?q=ADS\.blocked/, 'the search is in the address');

    await page.fill('#query-search', '');
    await page.selectOption('#queries-action', 'blocked');
    await page.click('#queries-submit');
    await page.waitForFunction(() => document.querySelectorAll('#queries-table tbody tr').length === 3);
    assert.deepEqual(await page.$$eval('#queries-table tbody tr td:nth-child(5)', (c) => c.map((x) => x.textContent)), [
      'blocked',
      'blocked',
      'blocked',
    ]);

    await page.selectOption('#queries-action', '');
    await page.fill('#queries-type', 'AAAA');
    await page.click('#queries-submit');
    await page.waitForFunction(() => document.querySelectorAll('#queries-table tbody tr').length === 1);
    assert.deepEqual(await names(), ['mail.example.test']);

    await page.fill('#queries-type', '');
    await page.fill('#query-search', 'no-such-name');
    await page.click('#queries-submit');
    await page.waitForSelector('#queries-empty');
  });

  it('counts every query on the Statistics page, top domain first, over 24 hours and 7 days', async () => {
    await page.click('a[data-nav="stats"]');
    await page.waitForSelector('#top-domains');
    const top = () =>
      page.$$eval('#top-domains tbody tr', (rows) =>
        rows.map((r) => [r.children[0].textContent, r.children[1].textContent]),
      );
    assert.deepEqual((await top())[0], ['example.test', String(7 + 1 + MISSES)]);
    assert.deepEqual(
      await page.$$eval('#top-blocked tbody tr', (rows) =>
        rows.map((r) => [r.children[0].textContent, r.children[1].textContent]),
      ),
      [['blocked.test', '3']],
    );
    assert.match((await page.textContent('#stats-total')) ?? '', new RegExp(`${7 + 1 + 3 + MISSES}`));
    assert.equal(await page.getAttribute('#range-24h', 'aria-pressed'), 'true');
    assert.ok(await page.isVisible('svg.chart'), 'the per-hour chart');
    await page.screenshot({ path: join(shots, 'console-statistics.png'), fullPage: true });
    await page.click('#range-7d');
    await page.waitForSelector('#range-7d[aria-pressed="true"]');
    assert.deepEqual((await top())[0], ['example.test', String(7 + 1 + MISSES)]);
    // A top domain leads to its queries.
    await page.click('#top-domains a:has-text("example.test")');
    await page.waitForSelector('#queries-domain');
    await page.waitForSelector('#queries-range:has-text("rows 1–50")');
  });

  it("shows a client's counts on its page", async () => {
    await page.goto(`${base}/#/client/127.0.0.1`);
    await page.waitForSelector('#client-stats');
    assert.match(
      (await page.textContent('#client-stats')) ?? '',
      new RegExp(`${7 + 1 + 3 + MISSES} queries, 3 blocked`),
    );
    assert.doesNotMatch((await page.textContent('main')) ?? '', /no state/);
    assert.deepEqual(cspViolations, []);
  });
});
