/**
 * The console in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * `dnsward serve`: log in, watch a real dns2tcp tunnel appear live, open its stage trace, allow
 * it and see its traffic pass; a viewer cannot act, and the API refuses strangers. Screenshots
 * go to $DNSWARD_SCREENSHOTS (default: a temporary folder, printed).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CliServer, runCli } from '../helpers/cli.js';
import { dns2tcpEcho, dns2tcpEchoPasses, startDns2tcpServer } from '../helpers/dns2tcp.js';
import { NetnsLab } from '../helpers/netns.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

const ZONE = 'tunnel.test';
const ADMIN_PASSWORD = 'admin password for the test';
const VIEWER_PASSWORD = 'viewer password for the test';
const shots = process.env.DNSWARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dnsward-console-shots-'));
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

describe('dnsward console in Chromium, with a real dns2tcp tunnel', () => {
  let lab: NetnsLab;
  let unbound: UnboundServer;
  let dnsward: CliServer;
  let browser: Browser;
  let page: Page;
  let base: string;
  let dataDir: string;
  let incident = '';
  // The console runs under a strict Content-Security-Policy: Chromium reports what it refuses.
  const cspViolations: string[] = [];
  const watchCsp = (p: Page) =>
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });

  const tunnelTransfer = (port: number) => dns2tcpEcho(lab, ZONE, port);

  const login = async (p: Page, user: string, password: string) => {
    await p.goto(`${base}/#/overview`);
    await p.fill('#username', user);
    await p.fill('#password', password);
    await p.click('#login');
    // A bound, not a timing assertion: a loaded CI machine (scrypt, Chromium, dnsward and the
    // tunnel on two cores) once took longer than 10 s here.
    await p.waitForSelector('#stat-qps', { timeout: 30_000 });
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# console screenshots: ${shots}`);
    lab = NetnsLab.create(['client', 'server']);
    const client = lab.ns('client');
    const server = lab.ns('server');
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-console-'));
    dataDir = join(dir, 'var');
    const configPath = join(dir, 'dnsward.yaml');
    writeFileSync(
      configPath,
      `listen: ["${client.rootAddress}:53"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nforwardZones:\n  - zone: ${ZONE}\n    servers: ["${server.address}:53"]\ndataDir: ${dataDir}\n`,
    );
    await startDns2tcpServer(lab, dir, ZONE);
    const viewer = await runCli(['user', 'add', 'viewer', '--role', 'viewer', '--data-dir', dataDir], {
      DNSWARD_PASSWORD: VIEWER_PASSWORD,
    });
    assert.equal(viewer.code, 0, viewer.stderr);
    const consolePort = await freePort();
    base = `http://127.0.0.1:${consolePort}`;
    dnsward = CliServer.start(['--config', configPath, '--console', `127.0.0.1:${consolePort}`], {
      DNSWARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    await dnsward.waitForLog('console listening');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    watchCsp(page);
  });

  after(async () => {
    await browser?.close();
    await dnsward?.stop();
    await unbound?.stop();
    await lab?.destroy();
  });

  it('refuses the API without a login, and a wrong password', async () => {
    assert.equal((await fetch(`${base}/api/threats`)).status, 401);
    assert.equal(
      (
        await fetch(`${base}/api/actions/allow`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ domain: ZONE }),
        })
      ).status,
      401,
    );
    await page.goto(`${base}/`);
    await page.fill('#username', 'admin');
    await page.fill('#password', 'not the password');
    await page.click('#login');
    await page.waitForSelector('#login-error:has-text("wrong user name or password")');
  });

  it('logs in and shows the overview, then an empty threat feed', async () => {
    await login(page, 'admin', ADMIN_PASSWORD);
    assert.match((await page.textContent('#who')) ?? '', /admin \(admin\)/);
    await page.screenshot({ path: join(shots, 'overview.png') });
    await page.click('a[data-nav="threats"]');
    await page.waitForSelector('#threats-empty');
  });

  it('shows a real dns2tcp tunnel live, as it is cut', async () => {
    const transfer = tunnelTransfer(4451);
    const started = Date.now();
    const row = await page.waitForSelector('#threats tr[data-incident^="TG-"]', { timeout: 30_000 });
    console.log(`# the detection appeared in the feed ${Date.now() - started} ms after the tunnel client started`);
    incident = (await row.getAttribute('data-incident')) ?? '';
    assert.match(incident, /^TG-[0-9a-f]{8}$/);
    assert.match((await row.textContent()) ?? '', /tunnel\.test/);
    assert.notEqual(await transfer, 'echo intact', 'the tunnel was cut');
    await page.screenshot({ path: join(shots, 'live-threats.png') });
  });

  it('opens the threat and shows every stage it went through', async () => {
    await page.click(`#threats tr[data-incident="${incident}"] a.open-threat`);
    await page.waitForSelector('#pipeline');
    const stages = await page.$$eval('#pipeline [data-stage]', (els) => els.map((e) => e.getAttribute('data-stage')));
    assert.deepEqual(stages, ['anatomy', 'query', 'state', 'normal', 'decision']);
    assert.match((await page.textContent('#reasons')) ?? '', /encoded information/);
    assert.match((await page.textContent('#threat-action')) ?? '', /block/);
    // The evidence in words, the raw key kept in the title.
    assert.match(
      (await page.getAttribute('#pipeline [data-stage="normal"] [data-key="encoderMultiplier"]', 'title')) ?? '',
      /^encoderMultiplier = /,
    );
    await page.waitForSelector('#incident-timeline tr[data-what="domain_blocked"]');
    await page.screenshot({ path: join(shots, 'threat-detail.png') });
    await page.screenshot({ path: join(shots, 'threat-detail-full.png'), fullPage: true });
  });

  it('allows the domain with one click, and the tunnel passes again', async () => {
    await page.click('#allow-domain');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.fill('#confirm-comment', 'a dns2tcp test tunnel, on purpose');
    await page.click('#confirm-ok');
    await page.waitForSelector('#toast .msg:has-text("Allow domain: done")');
    await page.waitForSelector('#threat-state [data-state="allow"]');
    assert.equal(await dns2tcpEchoPasses(lab, ZONE, 4452), 'echo intact');
    await page.click('a[data-nav="audit"]');
    await page.waitForSelector('td:has-text("admin (console)")');
    await page.waitForSelector('td:has-text("a dns2tcp test tunnel, on purpose")');
  });

  it('lets a viewer look but not act', async () => {
    const context = await browser.newContext();
    const viewer = await context.newPage();
    watchCsp(viewer);
    await login(viewer, 'viewer', VIEWER_PASSWORD);
    await viewer.goto(`${base}/#/threat/${incident}`);
    await viewer.waitForSelector('#pipeline');
    assert.equal(await viewer.isDisabled('#allow-domain'), true);
    const status = await viewer.evaluate(async (zone) => {
      const me = (await (await fetch('/api/me')).json()) as { csrfToken: string };
      const r = await fetch('/api/actions/unblock', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
        body: JSON.stringify({ domain: zone }),
      });
      return r.status;
    }, ZONE);
    assert.equal(status, 403);
    await context.close();
  });

  it('jumps to the domain search with "/", its field focused, and finds the tunnel\'s domain', async () => {
    await page.goto(`${base}/#/overview`);
    await page.waitForSelector('#stat-qps');
    await page.keyboard.press('/');
    await page.waitForSelector('#domain-search');
    assert.equal(
      await page.evaluate(() => document.activeElement?.id),
      'domain-search',
      'the search field has the focus',
    );
    await page.keyboard.type(ZONE);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`h2:has-text("Domains matching “${ZONE}”")`);
    await page.waitForSelector(`a.mono:has-text("${ZONE}")`);
  });

  it('switches to the dark theme', async () => {
    await page.goto(`${base}/#/overview`);
    await page.waitForSelector('#stat-qps');
    const before = await page.getAttribute('html', 'data-theme');
    await page.click('#theme');
    const afterClick = await page.getAttribute('html', 'data-theme');
    assert.deepEqual([before, afterClick].sort(), ['dark', 'light']);
    await page.reload();
    await page.waitForSelector('#stat-qps');
    assert.equal(await page.getAttribute('html', 'data-theme'), afterClick, 'the choice is kept');
    await page.screenshot({ path: join(shots, `overview-${afterClick}.png`) });
  });

  it('runs the UI and the API documentation without breaking its content security policy', async () => {
    await page.goto(`${base}/api/docs`);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 30_000 });
    assert.deepEqual(cspViolations, []);
  });
});
