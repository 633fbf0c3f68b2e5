/**
 * The console under attack: parallel password guessing, live streams outliving their
 * credential, foreign Host names (DNS rebinding), the content security policy, and idle
 * connections that would hold descriptors.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  localAddress?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        localAddress,
        agent: false,
        timeout: 10_000,
        headers: {
          ...headers,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens the live stream; `ended` settles true when the server ends it, false after `boundMs`. */
async function openStream(
  port: number,
  headers: Record<string, string>,
  boundMs = 5000,
): Promise<{ status: number; ended: Promise<boolean> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/stream', headers, agent: false }, (res) => {
      const ended = new Promise<boolean>((done) => {
        const timer = setTimeout(() => {
          req.destroy();
          done(false);
        }, boundMs);
        res.on('data', () => {});
        res.on('end', () => {
          clearTimeout(timer);
          done(true);
        });
        res.on('error', () => {
          clearTimeout(timer);
          done(true);
        });
      });
      resolve({ status: res.statusCode ?? 0, ended });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console against a determined client', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let port: number;
  let admin: Record<string, string>;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    process.env.DNSWARD_ADMIN_PASSWORD = 'the admin password';
    try {
      // Connection caps high enough that the login limit alone decides.
      dw = await startDnsward(
        `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0", maxConnections: 200, maxConnectionsPerAddress: 100, allowedHosts: ["dnsward.example", "ops.example:9999"] }\n`,
      );
    } finally {
      delete process.env.DNSWARD_ADMIN_PASSWORD;
    }
    port = dw.consoleServer!.boundPort;
    admin = {
      authorization: `Bearer ${dw.consoleServer!.users.createToken('hardening-admin', 'admin', 'test').token}`,
    };
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('checks at most the failed-login limit of parallel wrong passwords, per address and per user', async () => {
    const attempt = (user: string, i: number, from: string) =>
      send(port, 'POST', '/api/login', {}, JSON.stringify({ username: user, password: `wrong guess ${i}` }), from).then(
        (r) => r.status,
      );
    const one = await Promise.all(Array.from({ length: 60 }, (_, i) => attempt('admin', i, '127.0.0.1')));
    assert.equal(one.filter((s) => s === 401).length, 5, 'five per address');
    assert.equal(one.filter((s) => s === 429).length, 55);
    // From four more addresses at once: the user's limit (10) counts across them all.
    const many = await Promise.all(Array.from({ length: 80 }, (_, i) => attempt('admin', i, `127.0.0.${2 + (i % 4)}`)));
    assert.equal(many.filter((s) => s === 401).length, 5, 'the rest of the ten per user');
    assert.equal(many.filter((s) => s === 429).length, 75);
  });

  it('ends a live stream when its token is revoked, through the API or the CLI', async () => {
    const users = dw.consoleServer!.users;
    const viaApi = users.createToken('stream-api', 'viewer', 'test');
    const s1 = await openStream(port, { authorization: `Bearer ${viaApi.token}` });
    assert.equal(s1.status, 200);
    assert.equal((await send(port, 'DELETE', `/api/tokens/${viaApi.id}`, admin)).status, 200);
    assert.equal(await s1.ended, true, 'the stream ended after the revoke');

    const viaCli = users.createToken('stream-cli', 'viewer', 'test');
    const s2 = await openStream(port, { authorization: `Bearer ${viaCli.token}` });
    assert.equal(s2.status, 200);
    assert.equal((await runCli(['token', 'revoke', viaCli.id, '--data-dir', dw.dataDir])).code, 0);
    assert.equal(await s2.ended, true, 'the stream ended after the revoke by another process');
  });

  it('ends a live stream when its user is removed or logs out', async () => {
    const login = async (username: string, password: string) => {
      const r = await send(port, 'POST', '/api/login', {}, JSON.stringify({ username, password }), '127.0.0.9');
      assert.equal(r.status, 200, r.body);
      return {
        cookie: String(r.headers['set-cookie']).split(';')[0],
        csrf: (JSON.parse(r.body) as { csrfToken: string }).csrfToken,
      };
    };
    assert.equal(
      (
        await send(
          port,
          'POST',
          '/api/users',
          admin,
          JSON.stringify({ name: 'streamer', password: 'a streaming password', role: 'viewer' }),
        )
      ).status,
      200,
    );
    const a = await login('streamer', 'a streaming password');
    const removed = await openStream(port, { cookie: a.cookie });
    assert.equal(removed.status, 200);
    assert.equal((await send(port, 'DELETE', '/api/users/streamer', admin)).status, 200);
    assert.equal(await removed.ended, true, 'the stream ended with its user');

    assert.equal(
      (
        await runCli(['user', 'add', 'streamer2', '--role', 'viewer', '--data-dir', dw.dataDir], {
          DNSWARD_PASSWORD: 'a streaming password',
        })
      ).code,
      0,
    );
    const b = await login('streamer2', 'a streaming password');
    const cliRemoved = await openStream(port, { cookie: b.cookie });
    assert.equal((await runCli(['user', 'remove', 'streamer2', '--data-dir', dw.dataDir])).code, 0);
    assert.equal(await cliRemoved.ended, true, 'the stream ended with its user removed by another process');
    assert.equal((await send(port, 'GET', '/api/me', { cookie: b.cookie })).status, 401, 'and so did the session');

    assert.equal(
      (
        await runCli(['user', 'add', 'streamer3', '--role', 'viewer', '--data-dir', dw.dataDir], {
          DNSWARD_PASSWORD: 'a streaming password',
        })
      ).code,
      0,
    );
    const c = await login('streamer3', 'a streaming password');
    const loggedOut = await openStream(port, { cookie: c.cookie });
    assert.equal((await send(port, 'POST', '/api/logout', { cookie: c.cookie, 'x-csrf-token': c.csrf })).status, 200);
    assert.equal(await loggedOut.ended, true, 'the stream ended with its session');
  });

  it('ends the sessions and streams of a user whose password is changed from another process', async () => {
    assert.equal(
      (
        await runCli(['user', 'add', 'rotator', '--role', 'viewer', '--data-dir', dw.dataDir], {
          DNSWARD_PASSWORD: 'the first password',
        })
      ).code,
      0,
    );
    const r = await send(
      port,
      'POST',
      '/api/login',
      {},
      JSON.stringify({ username: 'rotator', password: 'the first password' }),
      '127.0.0.10',
    );
    assert.equal(r.status, 200, r.body);
    const cookie = String(r.headers['set-cookie']).split(';')[0];
    const stream = await openStream(port, { cookie });
    assert.equal(stream.status, 200);
    // Same name, same role, a new password: as after a suspected leak.
    assert.equal(
      (
        await runCli(['user', 'add', 'rotator', '--role', 'viewer', '--data-dir', dw.dataDir], {
          DNSWARD_PASSWORD: 'the second password',
        })
      ).code,
      0,
    );
    assert.equal(await stream.ended, true, 'the stream ended');
    assert.equal((await send(port, 'GET', '/api/me', { cookie })).status, 401, 'the session is over');
  });

  it('answers only under its own address and the allowed host names', async () => {
    const at = (host: string) => send(port, 'GET', '/api/setup', { host }).then((r) => r.status);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      `LOCALHOST:${port}`,
      `dnsward.example:${port}`,
      'ops.example:9999',
    ])
      assert.equal(await at(host), 200, host);
    for (const host of [
      'rebind.attacker.example',
      `rebind.attacker.example:${port}`,
      `127.0.0.1:${port + 1}`,
      `dnsward.example:${port + 1}`,
      'ops.example',
      `127.0.0.1.attacker.example:${port}`,
    ])
      assert.equal(await at(host), 421, host);
    const foreign = await send(port, 'GET', '/api/config', { ...admin, host: `rebind.attacker.example:${port}` });
    assert.equal(foreign.status, 421);
    assert.doesNotMatch(foreign.body, /upstreams/, 'no data under a foreign name');
  });

  it('sends a content security policy: strict for the UI, one Swagger UI can run under for the docs', async () => {
    const ui = await send(port, 'GET', '/');
    assert.equal(ui.status, 200);
    const policy = String(ui.headers['content-security-policy']);
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.match(policy, /frame-ancestors 'none'/);
    assert.doesNotMatch(policy, /unsafe/);
    assert.doesNotMatch(ui.body, /<script(?![^>]*\ssrc=)[^>]*>/, 'the page has no inline script');
    assert.doesNotMatch(ui.body, /\sstyle=|<style/, 'nor inline style');
    const api = await send(port, 'GET', '/api/setup');
    assert.equal(api.headers['content-security-policy'], policy);
    const docs = await send(port, 'GET', '/api/docs');
    assert.equal(docs.status, 200);
    assert.match(String(docs.headers['content-security-policy']), /script-src 'self'(;|$)/);
    assert.match(String(docs.headers['content-security-policy']), /style-src 'self' 'unsafe-inline'/);
  });
});

describe('console and metrics connection caps', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nconsole: { listen: "127.0.0.1:0", maxConnections: 12, maxConnectionsPerAddress: 8, idleTimeout: 1s, requestTimeout: 2s }\nmetrics: { listen: "127.0.0.1:0", maxConnections: 6, maxConnectionsPerAddress: 4, idleTimeout: 1s }\n`,
    );
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  /**
   * Idle connections that do not close by themselves (half-open allowed). When the server ends
   * one, the client writes: a server that destroyed its socket answers with a reset and the
   * client's socket closes (EPIPE); one that only half-closed would keep its socket (FIN-WAIT-2)
   * and take the bytes. So `closed` counts connections the server fully closed.
   */
  async function hold(
    port: number,
    count: number,
    localAddress: string,
  ): Promise<{ sockets: Socket[]; closed: () => number }> {
    let closed = 0;
    const sockets: Socket[] = [];
    for (let i = 0; i < count; i++) {
      const s = connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
      s.on('error', () => {});
      // The first write is taken by the kernel; the reset it draws fails the second.
      s.on('end', () => {
        s.write('x');
        setTimeout(() => s.write('y'), 200).unref();
      });
      s.on('close', () => closed++);
      await once(s, 'connect').catch(() => {});
      sockets.push(s);
    }
    return { sockets, closed: () => closed };
  }

  async function until(what: string, done: () => boolean, boundMs = 8000): Promise<void> {
    const deadline = Date.now() + boundMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const serverConnections = (server: { getConnections(cb: (err: Error | null, n: number) => void): void }) =>
    new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));

  it('closes idle connections past the caps at once, destroys the rest when idle, then serves again', async () => {
    const cs = dw.consoleServer!;
    const port = cs.boundPort;
    const httpServer = (cs as unknown as { app: { server: Parameters<typeof serverConnections>[0] } }).app.server;
    // 8 per address: 3 of 11 from one address are closed at once.
    const a = await hold(port, 11, '127.0.0.1');
    await until('the connections past the per-address cap closed', () => a.closed() >= 3);
    assert.equal(a.closed(), 3);
    // 12 in all: 6 more from another address all get in, and the 2 least recently active
    // (the first address's) make room: held slots cannot lock a newcomer out.
    const b = await hold(port, 6, '127.0.0.2');
    await until('the least recently active connections closed', () => a.closed() >= 5);
    assert.equal(a.closed(), 5);
    assert.equal(b.closed(), 0);
    assert.equal(await serverConnections(httpServer), 12);
    assert.equal(cs.counters.refused, 3);
    assert.equal(cs.counters.evicted, 2);
    // The idle ones are destroyed, not half-closed: the server holds none while the clients keep theirs open.
    await until('idle connections destroyed', () => a.closed() + b.closed() === 17);
    assert.equal(await serverConnections(httpServer), 0);
    assert.equal(cs.counters.idleClosed, 12);
    const r = await send(port, 'GET', '/api/setup');
    assert.equal(r.status, 200);
  });

  it('answers 408 and destroys a connection whose headers trickle in, though it is never idle', async () => {
    const port = dw.consoleServer!.boundPort;
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let got = '';
    let closed = false;
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('error', () => {});
    s.on('close', () => (closed = true));
    await once(s, 'connect');
    s.write(`GET /api/setup HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    // A header line every 300 ms: more often than the idle timeout (1 s), never finished.
    const trickle = setInterval(() => {
      if (!s.destroyed && s.writable) s.write('X-Slow: 1\r\n');
    }, 300);
    try {
      await until('the trickling connection closed', () => closed);
    } finally {
      clearInterval(trickle);
      s.destroy();
    }
    assert.match(got, /^HTTP\/1\.1 408 /);
  });

  it('caps the metrics listener the same way', async () => {
    const ms = dw.metricsServer!;
    const port = ms.boundPort;
    const a = await hold(port, 7, '127.0.0.1');
    const b = await hold(port, 4, '127.0.0.2');
    await until('connections past the caps closed', () => a.closed() === 5 && b.closed() === 0);
    assert.equal(ms.counters.refused, 3);
    assert.equal(ms.counters.evicted, 2);
    await until('idle connections destroyed', () => a.closed() + b.closed() === 11);
    assert.equal(ms.counters.idleClosed, 6);
    const r = await send(port, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body, /dnsward_/);
  });
});
