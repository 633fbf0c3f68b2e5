/**
 * Access to the console is decided on the route the router matched, never on how the path was
 * spelled: every route of the OpenAPI document (and its HEAD twin) is called raw and spelled
 * percent-encoded, with doubled slashes, dot segments and other letter case, without a login,
 * as a viewer and as an admin, and each answer's status is checked.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

interface Answer {
  status: number;
  body: string;
}

/** One request with the path sent exactly as given (fetch would normalise it). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          ...headers,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
        },
        agent: false,
        timeout: 5000,
      },
      (res) => {
        // A live stream never ends: its status is all that is needed.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          req.destroy();
          return resolve({ status: res.statusCode ?? 0, body: '' });
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

type Who = 'nobody' | 'viewer' | 'admin';

/** A 404 says what is missing and nothing more. */
function onlyAnError(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return Object.keys(parsed).join() === 'error' && typeof parsed.error === 'string';
  } catch {
    return false;
  }
}

const PUBLIC = new Set(['POST /api/login', 'GET /api/setup']);
// Reading the feeds and the local lists is for everyone; refreshing or changing them is an action.
const isAdminRoute = (path: string) =>
  /^\/api\/(users|tokens|actions)(\/|$)/.test(path) ||
  /^\/api\/feeds\/(.+\/)?refresh$/.test(path) ||
  /^\/api\/lists\/.+/.test(path);

/** What a caller allowed on the route gets, given the deliberately wrong requests the walk sends. */
function allowedAnswer(method: string, path: string): number {
  // Bodies fail their schema; a refresh of every feed takes none (and there are none here).
  if (method === 'POST') return path === '/api/logout' || path === '/api/feeds/refresh' ? 200 : 400;
  if (method === 'DELETE') return 404; // nothing of that name exists
  if (path === '/api/threats/{incident}') return 404;
  return 200;
}

function expected(who: Who, method: string, path: string): number {
  const key = `${method === 'HEAD' ? 'GET' : method} ${path}`;
  const allowed = allowedAnswer(method === 'HEAD' ? 'GET' : method, path);
  if (PUBLIC.has(key)) return allowed;
  if (who === 'nobody') return 401;
  if (isAdminRoute(path) && who === 'viewer') return 403;
  return allowed;
}

/** Spellings the router reads as the same route (must answer exactly as the route). */
function sameRoute(path: string): string[] {
  const rest = path.slice('/api'.length);
  const last = path.lastIndexOf('/') + 1;
  const ch = path.charCodeAt(last);
  return [
    path,
    `/%61pi${rest}`,
    `/%61%70%69${rest}`,
    `${path.slice(0, last)}%${ch.toString(16)}${path.slice(last + 1)}`,
  ];
}

/** Spellings that are another path, or none: they must answer 404, or exactly as the route. */
function otherSpellings(path: string): string[] {
  const rest = path.slice('/api'.length);
  return [
    `/api%2F${rest.slice(1)}`,
    `/api%2f${rest.slice(1)}`,
    `/%2Fapi${rest}`,
    `/%2561pi${rest}`,
    `/${path}`,
    `/api/${rest}`,
    `/x/..${path}`,
    `/api/.${rest}`,
    `/api/x/..${rest}`,
    `/API${rest}`,
    `/Api${rest}`,
    `${path}/`,
    `${path}%00`,
    `${path};x`,
  ];
}

describe('console route access', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let port: number;
  const auth: Record<Who, Record<string, string>> = { nobody: {}, viewer: {}, admin: {} };

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
    port = dw.consoleServer!.boundPort;
    const users = dw.consoleServer!.users;
    auth.viewer = { authorization: `Bearer ${users.createToken('walk-viewer', 'viewer', 'test').token}` };
    auth.admin = { authorization: `Bearer ${users.createToken('walk-admin', 'admin', 'test').token}` };
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('answers every route and every spelling of it by the route matched, never by the raw path', async () => {
    const spec = JSON.parse((await send(port, 'GET', '/api/docs/json')).body) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes: Array<{ method: string; path: string }> = [];
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const m of Object.keys(ops)) {
        routes.push({ method: m.toUpperCase(), path });
        if (m === 'get') routes.push({ method: 'HEAD', path });
      }
    }
    assert.ok(routes.length >= 25, `the OpenAPI document lists ${routes.length} operations`);
    const wrong: string[] = [];
    let calls = 0;
    for (const who of ['nobody', 'viewer', 'admin'] as const) {
      for (const { method, path } of routes) {
        const concrete = path.replace(/\{[^}]+\}/g, 'walk-none');
        const want = expected(who, method, path);
        const body = method === 'POST' ? '"walk"' : undefined;
        for (const spelled of sameRoute(concrete)) {
          const got = await send(port, method, spelled, auth[who], body);
          calls++;
          if (got.status !== want) wrong.push(`${who} ${method} ${spelled}: ${got.status}, expected ${want}`);
        }
        for (const spelled of otherSpellings(concrete)) {
          const got = await send(port, method, spelled, auth[who], body);
          calls++;
          if (got.status !== want && got.status !== 404)
            wrong.push(`${who} ${method} ${spelled}: ${got.status}, expected ${want} or 404`);
          if (got.status === 404 && method !== 'HEAD' && !onlyAnError(got.body))
            wrong.push(`${who} ${method} ${spelled}: a 404 with content: ${got.body.slice(0, 80)}`);
        }
      }
    }
    assert.deepEqual(wrong, [], `${wrong.length} of ${calls} answers wrong`);
  });

  it('serves only the UI files and the API documentation without a login', async () => {
    for (const path of ['/', '/index.html', '/app.js', '/styles.css', '/api/docs', '/api/docs/json']) {
      assert.equal((await send(port, 'GET', path)).status, 200, path);
    }
    for (const path of ['/nothing-here', '/%2e%2e/etc/passwd', '/api', '/api/']) {
      const got = await send(port, 'GET', path);
      assert.equal(got.status, 404, path);
      assert.match(got.body, /^\{"error":"no route/, path);
    }
  });

  it('refuses user changes through a percent-encoded path without a login, and audits them with one', async () => {
    const users = dw.consoleServer!.users;
    const intruder = JSON.stringify({ name: 'walk-intruder', password: 'a password long enough', role: 'admin' });
    assert.equal((await send(port, 'POST', '/%61pi/users', {}, intruder)).status, 401);
    assert.equal((await send(port, 'POST', '/%61pi/users', auth.viewer, intruder)).status, 403);
    assert.equal(users.roleOf('walk-intruder'), undefined, 'no user was made');
    assert.equal((await send(port, 'DELETE', '/%61pi/users/admin')).status, 401);
    assert.equal(users.roleOf('admin'), 'admin', 'the admin is still there');
    const [token] = users.tokens();
    assert.equal((await send(port, 'DELETE', `/%61pi/tokens/${token.id}`)).status, 401);
    assert.equal(users.tokens().length, 2, 'no token was revoked');

    const made = await send(
      port,
      'POST',
      '/%61pi/users',
      auth.admin,
      JSON.stringify({ name: 'walk-made', password: 'a password long enough', role: 'viewer' }),
    );
    assert.equal(made.status, 200, made.body);
    assert.equal((await send(port, 'DELETE', '/%61pi/users/walk-made', auth.admin)).status, 200);
    const audit = dw.server.guardStore!.auditLog(50) as Array<{ who: string; action: string; subject: string }>;
    assert.ok(
      audit.some((a) => a.who === 'token:walk-admin' && a.action === 'user-set' && a.subject === 'walk-made'),
      'the change is audited under its author',
    );
    assert.ok(
      audit.some((a) => a.who === 'token:walk-admin' && a.action === 'user-remove' && a.subject === 'walk-made'),
    );
  });
});
