/**
 * The Users & tokens page in Chromium against a real dnsward: an admin adds a user with a role
 * (who can then log in with it), makes an API token (its secret shown once, then it works as a
 * bearer) and revokes it (refused at once), every change audited under the admin; a viewer has
 * no such page and the API refuses them.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the users page';
const NEW_PASSWORD = 'a password for the new viewer';
const shots = process.env.DNSWARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dnsward-users-shots-'));
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

describe('Users & tokens page in Chromium', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let browser: Browser;
  let page: Page;
  let base: string;
  let secret = '';
  const cspViolations: string[] = [];

  const login = async (p: Page, user: string, password: string) => {
    await p.goto(`${base}/`);
    await p.fill('#username', user);
    await p.fill('#password', password);
    await p.click('#login');
    await p.waitForSelector('#stat-qps', { timeout: 30_000 });
  };
  const audit = () =>
    dw.server.guardStore!.auditLog(100) as Array<{ who: string; action: string; subject: string; detail: string }>;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# users page screenshots: ${shots}`);
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    process.env.DNSWARD_ADMIN_PASSWORD = ADMIN_PASSWORD;
    try {
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0" }\n`,
      );
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
    }
    base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
    dw.consoleServer!.users.createToken('grafana', 'viewer', 'admin');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    page.on('dialog', (d) => void d.accept());
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await dw?.stop();
    await unbound?.stop();
  });

  it('lists users and tokens, and adds a user with a role who can then log in', async () => {
    await login(page, 'admin', ADMIN_PASSWORD);
    await page.click('a[data-nav="users"]');
    await page.waitForSelector('#users-list table');
    assert.deepEqual(await page.$$eval('#users-list [data-user]', (e) => e.map((x) => x.textContent)), ['admin']);
    assert.deepEqual(await page.$$eval('#tokens-list [data-token]', (e) => e.map((x) => x.textContent)), ['grafana']);
    await page.fill('#user-name', 'alice');
    await page.selectOption('#user-role', 'viewer');
    await page.fill('#user-password', NEW_PASSWORD);
    await page.click('#user-add-submit');
    await page.waitForSelector('#users-list [data-user="alice"]');
    assert.equal(dw.consoleServer!.users.roleOf('alice'), 'viewer');
    const r = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: NEW_PASSWORD }),
    });
    assert.deepEqual([r.status, ((await r.json()) as { role: string }).role], [200, 'viewer']);
    // The add form never changes an existing user's password.
    await page.fill('#user-name', 'alice');
    await page.fill('#user-password', 'another password entirely');
    await page.click('#user-add-submit');
    await page.waitForSelector('#toast .msg.bad:has-text("exists already")');
    assert.equal(
      (
        await fetch(`${base}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: NEW_PASSWORD }),
        })
      ).status,
      200,
    );
    assert.ok(
      audit().some(
        (a) =>
          a.who === 'admin' && a.action === 'user-set' && a.subject === 'alice' && a.detail.includes('"role":"viewer"'),
      ),
    );
  });

  it('makes a token whose secret is shown once, and revokes it', async () => {
    await page.fill('#token-name', 'siem-export');
    await page.selectOption('#token-role', 'viewer');
    await page.click('#token-add-submit');
    await page.waitForSelector('#token-secret-value');
    secret = (await page.textContent('#token-secret-value')) ?? '';
    assert.match(secret, /^dw_/);
    assert.equal((await fetch(`${base}/api/threats`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
    await page.screenshot({ path: join(shots, 'console-users.png'), fullPage: true });
    const id = dw.consoleServer!.users.tokens().find((t) => t.name === 'siem-export')!.id;
    await page.click(`#token-revoke-${id}`);
    await page.waitForFunction((tid) => document.querySelector(`#tokens-list [data-token="${tid}"]`) === null, id);
    assert.equal(await page.isVisible('#token-secret'), false, 'the secret is not shown again');
    assert.equal(
      (await fetch(`${base}/api/threats`, { headers: { authorization: `Bearer ${secret}` } })).status,
      401,
      'refused at once',
    );
    const a = audit();
    assert.ok(a.some((x) => x.who === 'admin' && x.action === 'token-create' && x.subject === 'siem-export'));
    assert.ok(a.some((x) => x.who === 'admin' && x.action === 'token-revoke' && x.subject === id));
    assert.ok(!a.some((x) => x.detail.includes(secret)), 'no secret in the audit log');
  });

  it('removes a user, and shows a viewer no such page', async () => {
    await page.click('#user-remove-alice');
    await page.waitForFunction(() => document.querySelector('#users-list [data-user="alice"]') === null);
    assert.equal(dw.consoleServer!.users.roleOf('alice'), undefined);
    assert.ok(audit().some((x) => x.action === 'user-remove' && x.subject === 'alice'));
    await dw.consoleServer!.users.set('vic', NEW_PASSWORD, 'viewer');
    const viewer = await browser.newPage();
    try {
      await login(viewer, 'vic', NEW_PASSWORD);
      assert.equal(await viewer.isVisible('a[data-nav="users"]'), false, 'no link');
      await viewer.goto(`${base}/#/users`);
      await viewer.waitForSelector('#users-admin-only');
      assert.equal(await viewer.evaluate(async () => (await fetch('/api/users')).status), 403);
    } finally {
      await viewer.close();
    }
    assert.deepEqual(cspViolations, []);
  });
});
