/**
 * The Feeds & lists page in Chromium against a real dnsward and unbound: each feed's rules,
 * version, groups and last error; an admin's "refresh now" loads a changed file (its new rule
 * blocks at once) and shows a file gone missing as the feed's error, audited; a viewer sees the
 * same page with the buttons off, and the API refuses the viewer's refresh.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the feeds page';
const VIEWER_PASSWORD = 'viewer password for the feeds page';
const shots = process.env.DNSWARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dnsward-feeds-shots-'));
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

describe('Feeds & lists page in Chromium', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let browser: Browser;
  let page: Page;
  let base: string;
  let adsFile: string;
  let malwareFile: string;
  const cspViolations: string[] = [];

  const cell = (feed: string, column: number) =>
    page.$eval(`#feeds-list tr:has([data-feed="${feed}"]) td:nth-child(${column})`, (td) => td.textContent ?? '');
  const login = async (p: Page, user: string, password: string) => {
    await p.goto(`${base}/`);
    await p.fill('#username', user);
    await p.fill('#password', password);
    await p.click('#login');
    await p.waitForSelector('#stat-qps', { timeout: 30_000 });
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# feeds page screenshots: ${shots}`);
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-feeds-'));
    adsFile = join(dir, 'ads.txt');
    malwareFile = join(dir, 'malware.txt');
    writeFileSync(adsFile, 'ads1.test\nads2.test\n');
    writeFileSync(malwareFile, 'bad.test\n');
    process.env.DNSWARD_ADMIN_PASSWORD = ADMIN_PASSWORD;
    try {
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0" }\npolicy:\n  feeds:\n    - { name: local-ads, category: ads, path: "${adsFile}" }\n    - { name: local-malware, category: malware, path: "${malwareFile}" }\n  groups: [{ name: everyone, feeds: [local-ads] }]\n`,
      );
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
    }
    base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
    const viewer = await runCli(['user', 'add', 'vic', '--role', 'viewer', '--data-dir', dw.dataDir], {
      DNSWARD_PASSWORD: VIEWER_PASSWORD,
    });
    assert.equal(viewer.code, 0, viewer.stderr);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await dw?.stop();
    await unbound?.stop();
  });

  it("shows each feed's rules, version and groups", async () => {
    await login(page, 'admin', ADMIN_PASSWORD);
    await page.click('a[data-nav="feeds"]');
    await page.waitForSelector('#feeds-list table');
    assert.equal(await cell('local-ads', 3), '2');
    assert.equal(await cell('local-ads', 7), 'everyone');
    assert.match(await cell('local-malware', 7), /none: blocks nothing/, 'a feed no group uses');
    assert.notEqual(await cell('local-ads', 4), '–', 'a version');
    assert.equal(await cell('local-ads', 8), 'ok');
    await page.screenshot({ path: join(shots, 'console-feeds.png') });
  });

  it('refreshes one feed now: a changed file is in force at once, a missing one is its error, both audited', async () => {
    const before = await cell('local-ads', 4);
    assert.ok(
      (await dig('127.0.0.1', dw.port, ['www.example.test', 'A'])).answers.some((a) => a.includes('192.0.2.10')),
      'answered before the refresh',
    );
    writeFileSync(adsFile, 'ads1.test\nads2.test\nwww.example.test\n');
    await page.click('#feed-refresh-local-ads');
    await page.waitForFunction(
      () => document.querySelector('#feeds-list tr:has([data-feed="local-ads"]) td:nth-child(3)')?.textContent === '3',
    );
    assert.notEqual(await cell('local-ads', 4), before, 'a new version');
    const blocked = await dig('127.0.0.1', dw.port, ['www.example.test', 'A']);
    assert.ok(!blocked.answers.some((a) => a.includes('192.0.2.10')), `the new rule blocks at once: ${blocked.raw}`);

    rmSync(malwareFile);
    await page.click('#feed-refresh-local-malware');
    await page.waitForSelector('#feeds-list tr:has([data-feed="local-malware"]) .last-error');
    assert.match(await cell('local-malware', 8), /1 failure/);
    assert.equal(await cell('local-malware', 3), '1', 'the last good version stays in force');
    const audit = dw.server.guardStore!.auditLog(50) as Array<{
      who: string;
      action: string;
      subject: string;
      detail: string;
    }>;
    assert.ok(
      audit.some(
        (a) =>
          a.who === 'admin (console)' &&
          a.action === 'feeds-refresh' &&
          a.subject === 'local-ads' &&
          a.detail.includes('"updated":["local-ads"]'),
      ),
      JSON.stringify(audit.slice(-3)),
    );
    assert.ok(
      audit.some(
        (a) =>
          a.action === 'feeds-refresh' &&
          a.subject === 'local-malware' &&
          a.detail.includes('"errors":["local-malware"]'),
      ),
    );
  });

  it('lets a viewer look but not refresh', async () => {
    const viewerPage = await browser.newPage({ viewport: { width: 1400, height: 700 } });
    try {
      await login(viewerPage, 'vic', VIEWER_PASSWORD);
      await viewerPage.goto(`${base}/#/feeds`);
      await viewerPage.waitForSelector('#feeds-list table');
      assert.equal(await viewerPage.isDisabled('#feed-refresh-local-ads'), true);
      assert.equal(await viewerPage.isDisabled('#feeds-refresh-all'), true);
      const status = await viewerPage.evaluate(async () => {
        const me = (await (await fetch('/api/me')).json()) as { csrfToken: string };
        return (
          await fetch('/api/feeds/local-ads/refresh', { method: 'POST', headers: { 'x-csrf-token': me.csrfToken } })
        ).status;
      });
      assert.equal(status, 403);
    } finally {
      await viewerPage.close();
    }
    assert.deepEqual(cspViolations, []);
  });
});
