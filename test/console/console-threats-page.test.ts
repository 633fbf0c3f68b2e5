/**
 * The Threats page for analysts, in Chromium against a real dnsward and unbound: a tunnel
 * (long random names under one domain) and policy hits (an ads feed, Firefox's DoH canary) are
 * made with dig; the API filters them server-side (view, type, severity, client, time) and tags
 * tunnels with MITRE ATT&CK; the page shows tunnels and policy on separate tabs, filters, and
 * exports the filtered list as CSV and JSON. Screenshots go to $DNSWARD_SCREENSHOTS.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { csvField, threatsCsv } from '../../src/console/routes/threat-routes.js';
import { securityEvent } from '../../src/events/security-event.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the threats page';
const shots = process.env.DNSWARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dnsward-threats-shots-'));
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
const TUNNEL_IDS = ['T1071.004', 'T1048', 'T1572'];

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF rows), enough to check the export. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  return rows;
}

describe('CSV export fields', () => {
  it('quotes every field, doubles quotes and defuses spreadsheet formulas', () => {
    assert.equal(csvField('a "b", c'), '"a ""b"", c"');
    assert.equal(csvField('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
    assert.equal(csvField(7), '"7"');
    assert.equal(csvField(undefined), '""');
    const e = securityEvent({
      type: 'domain_blocked',
      severity: 8,
      client: '192.0.2.1',
      domain: 'x.test',
      reasons: ['line one\nline "two"', 'second'],
      stages: [],
    });
    const rows = parseCsv(threatsCsv([e]));
    assert.equal(rows.length, 2);
    const at = (name: string) => rows[1][rows[0].indexOf(name)];
    assert.equal(at('reason'), 'line one\nline "two"; second', 'a newline and quotes survive inside the quotes');
    assert.equal(at('attack'), TUNNEL_IDS.join(' '));
  });
});

describe('Threats page in Chromium', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let browser: Browser;
  let page: Page;
  let base: string;
  let cookie = '';
  const cspViolations: string[] = [];

  const get = async <T>(path: string) => {
    const r = await fetch(`${base}${path}`, { headers: { cookie } });
    return { status: r.status, body: (await r.json()) as T };
  };
  const threats = async (query: string) =>
    (
      await get<{
        threats: Array<{
          type: string;
          severity: number;
          client?: string;
          attack: Array<{ id: string }>;
          policy?: { category: string };
        }>;
      }>(`/api/threats?${query}`)
    ).body.threats;
  const rowTypes = () => page.$$eval('#threats tbody tr', (rows) => rows.map((r) => r.getAttribute('data-type') ?? ''));

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# threats page screenshots: ${shots}`);
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    const feed = join(mkdtempSync(join(tmpdir(), 'dnsward-threats-')), 'ads.txt');
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
    const r = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.leaky-threats.test`,
        'TXT',
      ]);
    await dig('127.0.0.1', dw.port, ['ads.blocked.test', 'A']);
    await dig('127.0.0.1', dw.port, ['use-application-dns.net', 'A']);
    await dw.server.events.drain();
    await dw.server.queryLog.settle();
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.equal(login.status, 200);
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await dw?.stop();
    await unbound?.stop();
  });

  it('filters in the events store: tunnels apart from policy, by severity, type, client and time', async () => {
    const tunnels = await threats('view=tunnels');
    assert.ok(
      tunnels.length >= 1 &&
        tunnels.every((t) => ['tunnel_detected', 'domain_blocked', 'query_blocked'].includes(t.type)),
      JSON.stringify(tunnels.map((t) => t.type)),
    );
    assert.ok(
      tunnels.every((t) => t.attack.map((a) => a.id).join() === TUNNEL_IDS.join()),
      'each tunnel carries its ATT&CK techniques',
    );
    const policy = await threats('view=policy');
    assert.deepEqual(policy.map((t) => t.policy?.category).sort(), ['ads', 'doh-canary']);
    assert.ok(
      policy.every((t) => t.attack.length === 0),
      'a policy hit is no evidence of a technique',
    );
    assert.equal((await threats('')).length, tunnels.length + policy.length, 'all by default');
    assert.deepEqual(
      (await threats('view=policy&severity=3')).map((t) => t.policy?.category),
      ['doh-canary'],
    );
    assert.ok((await threats('view=all&severity=7')).every((t) => t.severity >= 7));
    assert.deepEqual(
      (await threats('type=policy_blocked,query_blocked&view=tunnels')).filter((t) => t.type === 'domain_blocked'),
      [],
      'type overrides the view',
    );
    assert.deepEqual(await threats('client=192.0.2.99'), []);
    assert.equal((await threats('client=127.0.0.1')).length, tunnels.length + policy.length);
    assert.deepEqual(await threats(`from=${Date.now() + 60_000}`), []);
    assert.equal((await threats('from=1h')).length, tunnels.length + policy.length);
    assert.equal((await get('/api/threats?type=no_such_type')).status, 400);
    assert.equal((await get('/api/threats?from=yesterday-ish')).status, 400);
  });

  it('exports the filtered list as CSV and JSON', async () => {
    const csv = await fetch(`${base}/api/threats/export?view=policy&format=csv`, { headers: { cookie } });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /^attachment; filename="dnsward-threats-.*\.csv"$/);
    const rows = parseCsv(await csv.text());
    assert.equal(rows[0][0], 'time');
    assert.equal(rows.length, 3, 'the header and the two policy hits');
    assert.deepEqual(
      rows.slice(1).map((r) => r[rows[0].indexOf('type')]),
      ['policy_blocked', 'policy_blocked'],
    );
    const json = await fetch(`${base}/api/threats/export?view=tunnels&format=json&severity=8`, { headers: { cookie } });
    const body = (await json.json()) as { threats: Array<{ severity: number; attack: Array<{ id: string }> }> };
    assert.ok(body.threats.length >= 1 && body.threats.every((t) => t.severity >= 8 && t.attack.length === 3));
    assert.equal((await fetch(`${base}/api/threats/export`)).status, 401, 'a login is needed');
  });

  it('shows tunnels with ATT&CK ids, policy hits on their own tab, filters and downloads', async () => {
    await page.goto(`${base}/`);
    await page.fill('#username', 'admin');
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login');
    await page.waitForSelector('#stat-qps', { timeout: 30_000 });
    await page.click('a[data-nav="threats"]');
    await page.waitForSelector('#threats tbody tr');
    assert.equal(await page.getAttribute('#threats-view-tunnels', 'aria-pressed'), 'true', 'tunnels first');
    assert.ok((await rowTypes()).every((t) => t !== 'policy_blocked'));
    assert.deepEqual(
      await page.$$eval('#threats tbody tr:first-child .attack-cell a', (a) => a.map((x) => x.textContent)),
      TUNNEL_IDS,
    );
    await page.screenshot({ path: join(shots, 'console-threats.png') });

    await page.click('#threats-view-policy');
    await page.waitForSelector('#threats-view-policy[aria-pressed="true"]');
    await page.waitForSelector('#threats tbody tr');
    assert.deepEqual(await rowTypes(), ['policy_blocked', 'policy_blocked']);
    await page.selectOption('#threats-severity', '3');
    await page.click('#threats-submit');
    await page.waitForFunction(() => document.querySelectorAll('#threats tbody tr').length === 1);
    assert.match((await page.textContent('#threats tbody tr')) ?? '', /doh-canary/);
    assert.match(page.url(), /view=policy&severity=3/);
    await page.screenshot({ path: join(shots, 'console-threats-policy.png') });

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      page.click('#threats-export-csv'),
    ]);
    const rows = parseCsv(readFileSync((await download.path())!, 'utf8'));
    assert.equal(rows.length, 2, "the download has the page's filters");
    assert.match(rows[1].join(','), /doh-canary/);

    await page.fill('#threats-client', '192.0.2.99');
    await page.click('#threats-submit');
    await page.waitForSelector('#threats-empty');
    assert.deepEqual(cspViolations, []);
  });
});
