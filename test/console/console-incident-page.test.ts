/**
 * The incident page, against a real dnsward and unbound with tunnels made by dig (long random
 * names under one domain): the API's timeline (the domain's Tunnel Guard events, each block's
 * end, operator actions with their comments, in time order), bytes leaked on one basis for the
 * headline and the chart, what is in force now after each action, and the comment checked and
 * bounded; then in Chromium: the timeline, the evidence in words with the raw key kept, an action
 * that asks for a confirmation (cancel does nothing) and a comment, and the page's state read
 * again after it. Screenshots go to $DNSWARD_SCREENSHOTS.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import { blockEnd, incidentLeak, incidentTimeline } from '../../src/console/routes/incident-routes.js';
import type { IncidentLeak, IncidentState, IncidentStep } from '../../src/console/web/api-types.js';
import { ControlServer } from '../../src/control/control-server.js';
import { MAX_COMMENT_LENGTH, operatorComment } from '../../src/control/operator-comment.js';
import { securityEvent } from '../../src/events/security-event.js';
import { runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const ADMIN_PASSWORD = 'admin password for the incident page';
const shots = process.env.DNSWARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dnsward-incident-shots-'));
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

interface IncidentAnswer {
  incident: string;
  domain: string;
  primary: { leakedBytes?: number; client?: string; type: string };
  history: IncidentStep[];
  leak: IncidentLeak;
  state: IncidentState;
}

const NO_STATE: IncidentState = { blocks: [], allows: [], quarantines: [] };

describe('incident timeline, leak and comment (pure)', () => {
  const at = (iso: string) => ({ time: iso });
  const monitor = {
    ...securityEvent({
      type: 'tunnel_detected',
      severity: 5,
      client: '192.0.2.1',
      domain: 'x.test',
      action: 'monitor',
      enforced: true,
      leakedBytes: 40,
      reasons: ['close'],
      stages: [],
    }),
    ...at('2026-01-01T10:00:00.000Z'),
  };
  const block = {
    ...securityEvent({
      type: 'domain_blocked',
      severity: 8,
      client: '192.0.2.1',
      domain: 'x.test',
      incident: 'TG-00000001',
      leakedBytes: 90,
      reasons: ['domain blocked until 2026-01-01T11:05:00.000Z (incident TG-00000001, offence 1)'],
      stages: [],
    }),
    ...at('2026-01-01T10:05:00.000Z'),
  };
  const again = {
    ...securityEvent({
      type: 'domain_blocked',
      severity: 8,
      client: '192.0.2.1',
      domain: 'x.test',
      incident: 'TG-00000002',
      leakedBytes: 150,
      reasons: ['domain blocked until 2026-01-01T16:00:00.000Z (incident TG-00000002, offence 2)'],
      stages: [],
    }),
    ...at('2026-01-01T12:00:00.000Z'),
  };
  const allow = {
    at: Date.parse('2026-01-01T12:30:00.000Z'),
    who: 'ana (console)',
    action: 'allow',
    subject: 'x.test',
    detail: '{"domain":"x.test","until":1767280000}',
    comment: 'backup agent, ticket 42',
  };

  it('puts the monitor report, the blocks, their ends and the operator actions in time order', () => {
    const now = Date.parse('2026-01-01T13:00:00.000Z');
    const steps = incidentTimeline([again, block, monitor], [allow], NO_STATE, now);
    assert.deepEqual(
      steps.map((s) => [s.kind, s.what, s.incident ?? '']),
      [
        ['detection', 'tunnel_detected', ''],
        ['detection', 'domain_blocked', 'TG-00000001'],
        ['expiry', 'block_end', 'TG-00000001'],
        ['detection', 'domain_blocked', 'TG-00000002'],
        ['operator', 'allow', ''],
      ],
      'the second block was lifted by the allow before its end: no expiry step for it',
    );
    assert.equal(steps[2].t, Date.parse('2026-01-01T11:05:00.000Z'));
    assert.equal(steps[2].planned, false);
    assert.equal(steps[4].comment, 'backup agent, ticket 42');
    assert.match(steps[0].text, /reported, not blocked/);
  });

  it('takes a block in force for its exact end, marked planned', () => {
    const state: IncidentState = {
      ...NO_STATE,
      blocks: [
        {
          domain: 'x.test',
          client: '192.0.2.1',
          incident: 'TG-00000002',
          until: Date.parse('2026-01-01T17:00:00.000Z') / 1000,
        },
      ],
    };
    assert.equal(blockEnd(again, state), Date.parse('2026-01-01T17:00:00.000Z'));
    const steps = incidentTimeline([again], [], state, Date.parse('2026-01-01T13:00:00.000Z'));
    assert.deepEqual(
      steps.map((s) => [s.what, s.planned]),
      [
        ['domain_blocked', undefined],
        ['block_end', true],
      ],
    );
  });

  it('computes the headline and the chart from the same points', () => {
    const other = { ...block, id: 'b2', client: '192.0.2.2', leakedBytes: 7 };
    const leak = incidentLeak([again, block, monitor, other], Date.parse('2026-01-01T09:00:00.000Z'));
    assert.deepEqual(
      leak.clients.map((c) => [c.client, c.points.map((p) => p[1])]),
      [
        ['192.0.2.1', [0, 40, 90, 150]],
        ['192.0.2.2', [0, 7]],
      ],
    );
    assert.equal(leak.total, 157, "the sum of each client's last point");
  });

  it('keeps a comment trimmed and bounded, one line of text', () => {
    assert.equal(operatorComment('  ticket 42 '), 'ticket 42');
    assert.equal(operatorComment('   '), undefined);
    assert.equal(operatorComment(undefined), undefined);
    assert.throws(() => operatorComment('x'.repeat(MAX_COMMENT_LENGTH + 1)), /at most 500/);
    assert.throws(() => operatorComment('ok\nforged line'), /one line/);
    assert.throws(() => operatorComment('bell\u0007'), /one line/);
    assert.throws(() => operatorComment(42), /text/);
  });
});

describe('incident page, API and Chromium', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let browser: Browser;
  let page: Page;
  let base: string;
  let cookie = '';
  let csrf = '';
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
    return { status: r.status, body: (await r.json()) as { error?: string } };
  };
  /** A tunnel under `domain`, made with dig: new long random names in TXT queries until it is blocked. */
  const tunnel = async (domain: string) => {
    const r = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.${domain}`,
        'TXT',
      ]);
    await dw.server.events.drain();
    await dw.server.queryLog.settle();
    const { body } = await get<{ threats: Array<{ type: string; domain?: string; incident?: string }> }>(
      '/api/threats?view=tunnels&limit=100',
    );
    const blocked = body.threats.find((t) => t.type === 'domain_blocked' && t.domain === domain);
    assert.ok(blocked?.incident, `the tunnel under ${domain} was blocked: ${JSON.stringify(body.threats)}`);
    return blocked.incident;
  };
  const incident = async (id: string) => (await get<IncidentAnswer>(`/api/threats/${id}`)).body;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    console.log(`# incident page screenshots: ${shots}`);
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    process.env.DNSWARD_ADMIN_PASSWORD = ADMIN_PASSWORD;
    try {
      // The query log in its default mode (blocked queries only): the leak must not depend on it.
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0" }\n`,
      );
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

  it('answers the timeline, the leak on one basis and the block in force', async () => {
    const id = await tunnel('leaky-api.test');
    const d = await incident(id);
    const block = d.history.find((s) => s.kind === 'detection' && s.what === 'domain_blocked');
    assert.equal(block?.incident, id);
    const end = d.history.find((s) => s.kind === 'expiry');
    assert.ok(end !== undefined && end.planned === true && end.t > block.t, JSON.stringify(d.history));
    assert.deepEqual(
      d.history.map((s) => s.t),
      d.history.map((s) => s.t).sort((a, b) => a - b),
      'in time order',
    );
    assert.deepEqual(
      d.state.blocks.map((b) => b.incident),
      [id],
    );
    // The headline and the chart: one basis, Tunnel Guard's estimate as its events carried it.
    assert.equal(d.leak.basis, 'tunnel-guard-estimate');
    const series = d.leak.clients.find((c) => c.client === d.primary.client)!;
    assert.equal(series.points[series.points.length - 1][1], d.leak.total);
    assert.ok(d.leak.total > 0 && d.leak.total >= (d.primary.leakedBytes ?? 0));
  });

  it('keeps the comment of an action in the audit log and shows the new state', async () => {
    const id = await tunnel('leaky-comment.test');
    const tooLong = await post('/api/actions/allow', { domain: 'leaky-comment.test', comment: 'x'.repeat(501) });
    assert.equal(tooLong.status, 400, 'bounded');
    const twoLines = await post('/api/actions/allow', { domain: 'leaky-comment.test', comment: 'a\nb' });
    assert.equal(twoLines.status, 400);
    assert.match(twoLines.body.error ?? '', /one line/);
    assert.equal((await incident(id)).state.blocks.length, 1, 'a refused action changed nothing');

    const ok = await post('/api/actions/allow', {
      domain: 'leaky-comment.test',
      for: '1h',
      comment: ' backup agent, ticket 42 ',
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const d = await incident(id);
    assert.deepEqual(d.state.blocks, [], 'the allow lifted the block');
    assert.deepEqual(
      d.state.allows.map((a) => [a.domain, a.by]),
      [['leaky-comment.test', 'admin (console)']],
    );
    const step = d.history.find((s) => s.kind === 'operator' && s.what === 'allow');
    assert.equal(step?.comment, 'backup agent, ticket 42');
    assert.equal(step?.by, 'admin (console)');
    assert.ok(
      !d.history.some((s) => s.kind === 'expiry' && s.incident === id),
      'a block lifted before its end has no expiry step',
    );
    const audit = (await get<{ audit: Array<{ action: string; subject: string; comment?: string }> }>('/api/audit'))
      .body.audit;
    assert.equal(
      audit.find((a) => a.action === 'allow' && a.subject === 'leaky-comment.test')?.comment,
      'backup agent, ticket 42',
    );

    const removed = await post('/api/actions/disallow', { domain: 'leaky-comment.test', comment: 'agent fixed' });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const after = await incident(id);
    assert.deepEqual(after.state.allows, []);
    assert.equal(after.history.find((s) => s.what === 'disallow')?.comment, 'agent fixed');
  });

  it('takes the comment from the CLI too, over the control socket, and refuses a second line', async () => {
    const id = await tunnel('leaky-cli.test');
    // The control socket `dnsward serve` opens, on this in-process server: the real CLI talks to it.
    const control = new ControlServer(dw.dataDir, dw.server, pino({ level: 'silent' }));
    await control.start();
    try {
      const refused = await runCli(['unblock', 'leaky-cli.test', '--comment', 'one\ntwo', '--data-dir', dw.dataDir]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /one line/);
      const done = await runCli([
        'unblock',
        'leaky-cli.test',
        '--comment',
        'INC-1234 owner agreed',
        '--data-dir',
        dw.dataDir,
      ]);
      assert.equal(done.code, 0, done.stderr);
      const blocks = await runCli(['blocks', '--data-dir', dw.dataDir]);
      assert.match(blocks.stdout, /: unblock leaky-cli\.test \("INC-1234 owner agreed"\)/);
    } finally {
      await control.stop();
    }
    const step = (await incident(id)).history.find((s) => s.what === 'unblock');
    assert.equal(step?.comment, 'INC-1234 owner agreed');
    assert.match(step?.by ?? '', /\S/);
  });

  it('shows the timeline, evidence in words, and asks before acting (Chromium)', async () => {
    const id = await tunnel('leaky-page.test');
    await page.goto(`${base}/`);
    await page.fill('#username', 'admin');
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login');
    await page.waitForSelector('#stat-qps', { timeout: 30_000 });
    await page.goto(`${base}/#/threat/${id}`);
    await page.waitForSelector('#incident-timeline');
    await page.waitForSelector('#incident-timeline tr[data-kind="detection"][data-what="domain_blocked"]');
    await page.waitForSelector('#incident-timeline tr[data-kind="expiry"]');
    await page.waitForSelector('#threat-state [data-state="block"]');

    // Evidence in words, the raw key in the title; the headline is the chart's basis.
    const pair = await page.$eval('#pipeline [data-stage="state"] [data-key="pairBytes"]', (el) => ({
      text: el.textContent ?? '',
      title: el.getAttribute('title') ?? '',
    }));
    assert.match(pair.text, /^Encoded bytes sent \(minute \/ hour \/ day\): \d+ B \/ /);
    assert.match(pair.title, /^pairBytes = /);
    const multiplier = await page.textContent('#pipeline [data-stage="normal"] [data-key="encoderMultiplier"]');
    assert.match(multiplier ?? '', /^Legitimate-encoder allowance: ×/);
    assert.match((await page.textContent('#leaked-bytes')) ?? '', /\d+ (B|KiB)/);

    // Cancel changes nothing.
    await page.click('#quarantine-client');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.match((await page.textContent('#confirm-title')) ?? '', /Quarantine 127\.0\.0\.1\?/);
    await page.click('#confirm-cancel');
    await page.waitForSelector('#confirm-dialog', { state: 'detached' });
    assert.deepEqual((await incident(id)).state.quarantines, []);

    // Confirmed with a comment: the page is read again and shows what is in force now.
    await page.click('#unblock-domain');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.fill('#confirm-comment', 'checked with the owner: test traffic');
    await page.click('#confirm-ok');
    await page.waitForSelector('#threat-state [data-state="none"]');
    await page.waitForSelector('#incident-timeline tr[data-what="unblock"] .comment');
    assert.match(
      (await page.textContent('#incident-timeline tr[data-what="unblock"]')) ?? '',
      /admin \(console\).*checked with the owner: test traffic/,
    );
    assert.equal(await page.$('#unblock-domain'), null, 'nothing left to unblock');
    await page.screenshot({ path: join(shots, 'console-incident.png'), fullPage: true });
    assert.deepEqual(cspViolations, []);
  });
});
