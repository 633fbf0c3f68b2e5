/** The console API without a browser: sessions, CSRF, roles, bearer tokens, login limits, OpenAPI. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LoginLimiter } from '../../src/console/auth/login-limiter.js';
import { hashPassword, verifyPassword } from '../../src/console/auth/password.js';
import { SessionStore } from '../../src/console/auth/sessions.js';
import { runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { makeSelfSignedCert } from '../helpers/certificates.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('console API', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let base: string;

  const login = async (username: string, password: string) => {
    const r = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const body = (await r.json()) as { csrfToken?: string; error?: string };
    return {
      status: r.status,
      cookie: (r.headers.get('set-cookie') ?? '').split(';')[0],
      setCookie: r.headers.get('set-cookie') ?? '',
      csrf: body.csrfToken ?? '',
      error: body.error,
    };
  };

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    process.env.DNSWARD_ADMIN_PASSWORD = 'the admin password';
    try {
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0" }\n`,
      );
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
    }
    base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
    const viewer = await runCli(['user', 'add', 'vera', '--role', 'viewer', '--data-dir', dw.dataDir], {
      DNSWARD_PASSWORD: 'the viewer password',
    });
    assert.equal(viewer.code, 0, viewer.stderr);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('sets an HttpOnly, SameSite=Strict session cookie and requires the CSRF token for changes', async () => {
    const s = await login('admin', 'the admin password');
    assert.equal(s.status, 200);
    assert.match(s.setCookie, /HttpOnly/);
    assert.match(s.setCookie, /SameSite=Strict/);
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/actions/monitor`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: s.cookie, ...headers },
        body: JSON.stringify({ for: '5m' }),
      });
    assert.equal((await post({})).status, 403);
    assert.equal((await post({ 'x-csrf-token': 'forged' })).status, 403);
    const ok = await post({ 'x-csrf-token': s.csrf });
    assert.equal(ok.status, 200);
    assert.equal(dw.server.guardMode, 'monitor');
    const back = await fetch(`${base}/api/actions/monitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf },
      body: JSON.stringify({ for: '0s' }),
    });
    assert.equal(back.status, 200);
    assert.equal(dw.server.guardMode, 'block');
    const audit = (await (await fetch(`${base}/api/audit`, { headers: { cookie: s.cookie } })).json()) as {
      audit: Array<{ who: string; action: string }>;
    };
    assert.ok(audit.audit.some((a) => a.who === 'admin (console)' && a.action === 'monitor'));
  });

  it('audits logins and logouts with who and from where, but not failed logins', async () => {
    assert.equal((await login('vera', 'not the password')).status, 401);
    const v = await login('vera', 'the viewer password');
    assert.equal(v.status, 200);
    const out = await fetch(`${base}/api/logout`, {
      method: 'POST',
      headers: { cookie: v.cookie, 'x-csrf-token': v.csrf },
    });
    assert.equal(out.status, 200);
    const a = await login('admin', 'the admin password');
    const audit = (await (await fetch(`${base}/api/audit`, { headers: { cookie: a.cookie } })).json()) as {
      audit: Array<{ who: string; action: string; subject: string; detail: string }>;
    };
    const vera = audit.audit.filter((e) => e.subject === 'vera');
    assert.deepEqual(
      vera.slice(-2).map((e) => [e.who, e.action]),
      [
        ['vera (console)', 'login'],
        ['vera (console)', 'logout'],
      ],
    );
    assert.match(vera.at(-2)!.detail, /"ip":"127\.0\.0\.1"/);
    assert.ok(!audit.audit.some((e) => e.action === 'login-failed'));
  });

  it('lets a viewer read but not act', async () => {
    const v = await login('vera', 'the viewer password');
    assert.equal(v.status, 200);
    assert.equal((await fetch(`${base}/api/threats`, { headers: { cookie: v.cookie } })).status, 200);
    const act = await fetch(`${base}/api/actions/allow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: v.cookie, 'x-csrf-token': v.csrf },
      body: JSON.stringify({ domain: 'example.test' }),
    });
    assert.equal(act.status, 403);
    assert.equal((await fetch(`${base}/api/tokens`, { headers: { cookie: v.cookie } })).status, 403);
  });

  it('accepts bearer tokens for automation, with their role, and refuses revoked or made-up ones', async () => {
    const made = await runCli(['token', 'create', 'siem-bot', '--role', 'admin', '--data-dir', dw.dataDir]);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    assert.match(token, /^dw_[A-Za-z0-9_-]{40,}$/);
    const auth = { authorization: `Bearer ${token}` };
    const allow = await fetch(`${base}/api/actions/allow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ domain: 'example.test', for: '1h' }),
    });
    assert.equal(allow.status, 200, await allow.text());
    assert.equal((await fetch(`${base}/api/threats`, { headers: { authorization: 'Bearer dw_made_up' } })).status, 401);
    const list = await runCli(['token', 'list', '--data-dir', dw.dataDir]);
    const id = list.stdout.split('\t')[0];
    assert.equal((await runCli(['token', 'revoke', id, '--data-dir', dw.dataDir])).code, 0);
    assert.equal((await fetch(`${base}/api/threats`, { headers: auth })).status, 401);
  });

  it('serves threats with their trace, domains, learning status and the config with secrets redacted', async () => {
    const r = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.leaky-console.test`,
        'TXT',
      ]);
    await dw.server.events.drain();
    await dw.server.queryLog.settle();
    const s = await login('admin', 'the admin password');
    const get = async <T>(path: string) =>
      (await (await fetch(`${base}${path}`, { headers: { cookie: s.cookie } })).json()) as T;
    const { threats } = await get<{ threats: Array<{ type: string; incident: string; domain: string }> }>(
      '/api/threats',
    );
    const blocked = threats.find((t) => t.type === 'domain_blocked' && t.domain === 'leaky-console.test');
    assert.ok(blocked);
    const detail = await get<{
      primary: { stages: Array<{ name: string }> };
      learned: { block: { incident: string } | null };
      timeline: Array<{ qname: string }>;
      leak: { total: number };
    }>(`/api/threats/${blocked.incident}`);
    assert.deepEqual(
      detail.primary.stages.map((x) => x.name),
      ['anatomy', 'query', 'state', 'normal', 'decision'],
    );
    assert.equal(detail.learned.block?.incident, blocked.incident);
    assert.ok(detail.timeline.length >= 1 && detail.timeline.every((p) => p.qname.endsWith('.leaky-console.test')));
    assert.ok(detail.leak.total > 0, "bytes leaked: Tunnel Guard's estimate");
    const domains = await get<{ domains: Array<{ domain: string; blocked: boolean }> }>('/api/domains?q=leaky');
    assert.deepEqual(
      domains.domains.map((d) => [d.domain, d.blocked]),
      [['leaky-console.test', true]],
    );
    const learning = await get<{ learningSince: number; queriesSeen: number }>('/api/learning');
    assert.ok(learning.learningSince > 0 && learning.queriesSeen >= 12);
    const config = await get<{ config: { console: { listen: { host: string } } }; yaml: string }>('/api/config');
    assert.equal(config.config.console.listen.host, '127.0.0.1');
    assert.match(config.yaml, /^console:\n {2}listen:\n {4}host: 127\.0\.0\.1$/m, 'the configuration as YAML');
  });

  it('answers 429 after repeated failed logins from one address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login('admin', `wrong ${i}`)).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    assert.equal((await login('admin', 'the admin password')).status, 429, 'the right password waits too');
  });

  it('documents the API in OpenAPI at /api/docs', async () => {
    const spec = (await (await fetch(`${base}/api/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.match(spec.openapi, /^3\./);
    for (const path of [
      '/api/login',
      '/api/threats',
      '/api/threats/{incident}',
      '/api/actions/allow',
      '/api/stream',
      '/api/tokens',
    ])
      assert.ok(spec.paths[path], `${path} documented`);
    assert.equal((await fetch(`${base}/api/docs`)).status, 200);
  });
});

describe('console over TLS', () => {
  it('serves HTTPS with the configured certificate and marks the session cookie Secure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-console-tls-'));
    const cert = makeSelfSignedCert(dir, 'console');
    const unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    process.env.DNSWARD_ADMIN_PASSWORD = 'the admin password';
    let dw: RunningDnsward | undefined;
    try {
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0", tls: { cert: "${cert.cert}", key: "${cert.key}" } }\n`,
      );
      const port = dw.consoleServer!.boundPort;
      const response = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/api/login',
            method: 'POST',
            ca: readFileSync(cert.ca),
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie'] ?? '') }),
            );
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ username: 'admin', password: 'the admin password' }));
      });
      assert.equal(response.status, 200);
      assert.match(response.cookie, /Secure/);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/api/setup`), 'plain HTTP is not served');
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
      await dw?.stop();
      await unbound.stop();
    }
  });
});

describe('console auth parts', () => {
  it('hashes passwords with scrypt and verifies only the right one', async () => {
    const hash = await hashPassword('a long enough password');
    assert.match(hash, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('a long enough password', hash), true);
    assert.equal(await verifyPassword('a long enough passwore', hash), false);
  });

  it('expires idle sessions', () => {
    let now = 0;
    const sessions = new SessionStore(1000, () => now);
    const s = sessions.create('u', 'viewer');
    now = 900;
    assert.ok(sessions.get(s.id));
    now = 1800;
    assert.ok(sessions.get(s.id), 'use keeps it alive');
    now = 3000;
    assert.equal(sessions.get(s.id), undefined);
  });

  it('limits failed logins per user across addresses, and forgets them after the window', () => {
    let now = 0;
    const limiter = new LoginLimiter({ perAddress: 5, perUser: 3, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) limiter.fail(`10.0.0.${i}`, 'alice');
    assert.ok(limiter.retryAfter('10.0.0.9', 'alice') > 0);
    assert.equal(limiter.retryAfter('10.0.0.9', 'bob'), 0);
    now = 61_000;
    assert.equal(limiter.retryAfter('10.0.0.9', 'alice'), 0);
  });
});
