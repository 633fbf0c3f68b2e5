/**
 * The console of a cluster node in a real browser (Debian's Chromium, playwright-core): its
 * "Actions & audit" page says the node is connected and names, for each quarantine, the node
 * that decided it (one made on another node, one made here); its Threats page's "Fleet" scope
 * shows a tunnel another node cut, naming that node.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { randomBytes } from 'node:crypto';
import { CliServer, runCli } from '../helpers/cli.js';
import { udpExchange } from '../helpers/dns-client.js';
import { encodeQuery } from '../helpers/packets.js';
import { freePort } from '../helpers/ports.js';
import { RedisServer } from '../helpers/redis.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the cluster test';
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

describe('dnsward console of a cluster node, in Chromium', () => {
  let unbound: UnboundServer;
  let redis: RedisServer;
  let browser: Browser;
  const servers: CliServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-console-cluster-'));

  const dnsPorts = new Map<string, number>();
  let consolePort = 0;
  const node = async (name: string, consolePort?: number) => {
    const configPath = join(dir, `${name}.yaml`);
    const dataDir = join(dir, `var-${name}`);
    const dnsPort = await freePort();
    dnsPorts.set(name, dnsPort);
    writeFileSync(
      configPath,
      `listen: ["127.0.0.1:${dnsPort}"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\ndataDir: ${dataDir}\nthreads: 1\ncluster: { redis: { host: "${redis.url}" }, nodeName: ${name} }\n`,
    );
    const server = CliServer.start(
      ['--config', configPath, ...(consolePort === undefined ? [] : ['--console', `127.0.0.1:${consolePort}`])],
      { DNSWARD_ADMIN_PASSWORD: ADMIN_PASSWORD },
    );
    servers.push(server);
    await server.waitForLog('cluster: connected to Redis');
    return dataDir;
  };

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test', 'tunnel.test'], records: [] });
    redis = await RedisServer.start();
  });

  after(async () => {
    await browser?.close();
    for (const s of servers) await s.stop();
    await redis?.stop();
    await unbound?.stop();
  });

  it('names the node that decided each quarantine', async () => {
    const alpha = await node('alpha');
    consolePort = await freePort();
    const beta = await node('beta', consolePort);
    assert.equal((await runCli(['quarantine', '127.0.0.85', '--data-dir', alpha])).code, 0);
    assert.equal((await runCli(['quarantine', '127.0.0.86', '--data-dir', beta])).code, 0);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${consolePort}/#/overview`);
    await page.fill('#username', 'admin');
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login');
    await page.waitForSelector('#stat-qps', { timeout: 30_000 });
    // The quarantine from alpha reaches beta within a second; the page is read after it.
    for (let i = 0; i < 40; i++) {
      await page.click('a[data-nav="audit"]');
      if ((await page.$('tr:has(td:has-text("127.0.0.85"))')) !== null) break;
      await page.goto(`http://127.0.0.1:${consolePort}/#/overview`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match((await page.textContent('#cluster')) ?? '', /Cluster node beta: connected to Redis/);
    const rows = await page.$$eval('tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    const row = (client: string) => rows.find((r) => r[0] === client);
    assert.equal(row('127.0.0.85')?.[3], 'alpha', JSON.stringify(rows));
    assert.equal(row('127.0.0.86')?.[3], 'beta', JSON.stringify(rows));
  });

  it("shows, on beta's Threats page under Fleet, a tunnel alpha cut, naming alpha", async () => {
    let cut = false;
    for (let i = 0; i < 60 && !cut; i++) {
      const name = `${randomBytes(20).toString('hex')}.${randomBytes(12).toString('hex')}.tunnel.test`;
      const reply = await udpExchange(
        '127.0.0.1',
        dnsPorts.get('alpha')!,
        encodeQuery(name, 'TXT', { edns: true }),
        2000,
      );
      cut = reply !== null && reply.toString('latin1').includes('Tunnel Guard');
    }
    assert.ok(cut, 'alpha cuts the tunnel');
    const page = browser.contexts()[0].pages()[0];
    const row = 'table#threats tr[data-type="domain_blocked"]:has(td.node:text-is("alpha"))';
    for (let i = 0; i < 20; i++) {
      await page.goto(`http://127.0.0.1:${consolePort}/#/threats?view=tunnels&scope=fleet`);
      await page.waitForSelector('#threats-scope-fleet[aria-pressed="true"]', { timeout: 10_000 });
      if ((await page.$(row)) !== null) break;
      await page.goto(`http://127.0.0.1:${consolePort}/#/overview`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match((await page.textContent(row)) ?? '', /tunnel\.test/);
  });
});
