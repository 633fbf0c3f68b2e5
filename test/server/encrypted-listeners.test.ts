/**
 * DNS over TLS (RFC 7858) and DNS over HTTPS (RFC 8484) listeners, answered through dnsward's
 * pipeline with a real unbound upstream, asked by real clients (kdig +tls / +https, curl over
 * HTTP/1.1 and HTTP/2) that verify a test CA made by openssl. Also: hostile DoT clients (garbage,
 * a stalled handshake) are closed without harming others, and a reload with a new certificate
 * keeps an open connection working while new connections get the new certificate.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { makeCaSignedCert, type TlsFiles } from '../helpers/certificates.js';
import { kdig } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

const run = promisify(execFile);
const HOST = 'dns.test';

function configText(upstream: number, dotPort: number, dohPort: number, files: TlsFiles): string {
  return `
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${upstream}"] }
tcp: { readTimeout: 1s, idleTimeout: 5s }
queryLog: { mode: all }
dot:
  - { listen: "127.0.0.1:${dotPort}", cert: "${files.cert}", key: "${files.key}" }
doh:
  - { listen: "127.0.0.1:${dohPort}", cert: "${files.cert}", key: "${files.key}", path: /dns-query }
`;
}

function frame(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);
}

/** A DoT client that keeps its connection: one framed query at a time. */
class DotClient {
  private buffered = Buffer.alloc(0);
  private waiting: ((answer: Buffer | null) => void) | null = null;
  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length >= 2 && this.buffered.length >= 2 + this.buffered.readUInt16BE(0)) {
        const answer = this.buffered.subarray(2, 2 + this.buffered.readUInt16BE(0));
        this.buffered = this.buffered.subarray(2 + answer.length);
        this.waiting?.(answer);
        this.waiting = null;
      }
    });
    socket.on('close', () => this.waiting?.(null));
  }

  static connect(port: number, ca: string): Promise<DotClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: readPem(ca) }, () =>
        resolve(new DotClient(socket)),
      );
      socket.once('error', reject);
    });
  }

  ask(name: string, id: number): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 3000);
      this.waiting = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
      this.socket.write(frame(encodeQuery(name, 'A', { id })));
    });
  }
}

const pems = new Map<string, string>();
function readPem(path: string): string {
  return pems.get(path) ?? '';
}

function addressesOf(answer: Buffer | null): string[] {
  if (answer === null) return [];
  return dnsPacket
    .decode(answer)
    .answers!.filter((a) => a.type === 'A')
    .map((a) => (a as { data: string }).data);
}

/** kdig over HTTPS prints the HTTP status first: the DNS status is the header line's. */
function dnsStatus(raw: string): string {
  return /->>HEADER<<-.*status: (\w+)/.exec(raw)?.[1] ?? 'NONE';
}

/** Resolves true once the socket closes (within limitMs), false if it is still open. */
function closedWithin(socket: net.Socket, limitMs: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), limitMs);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
}

async function curl(args: string[]): Promise<{ status: number; headers: string; body: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-curl-'));
  const headers = join(dir, 'headers');
  const body = join(dir, 'body');
  const { stdout } = await run(
    'curl',
    ['-s', '--max-time', '5', '-D', headers, '-o', body, '-w', '%{http_code}', ...args],
    { timeout: 15_000 },
  );
  const { readFileSync } = await import('node:fs');
  return { status: Number(stdout), headers: readFileSync(headers, 'utf8'), body: readFileSync(body) };
}

describe('DNS over TLS and HTTPS listeners', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let dir: string;
  let first: TlsFiles;
  let second: TlsFiles;
  let dotPort: number;
  let dohPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dnsward-encrypted-'));
    first = makeCaSignedCert(dir, 'first', HOST);
    second = makeCaSignedCert(dir, 'second', HOST);
    const { readFileSync } = await import('node:fs');
    for (const f of [first.ca, second.ca]) pems.set(f, readFileSync(f, 'utf8'));
    unbound = await UnboundServer.start({
      zones: ['example.test', 'tunnel.test'],
      records: ['www.example.test. 300 IN A 192.0.2.1', 'short.example.test. 42 IN A 192.0.2.2'],
    });
    dotPort = await freePort();
    dohPort = await freePort();
    dw = await startDnsward(configText(unbound.port, dotPort, dohPort, first));
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('answers kdig over TLS, verifying the certificate and name, with transport tls', async () => {
    const before = dw.server.snapshot().queries.tls;
    const r = await kdig('127.0.0.1', dotPort, [
      '+tls',
      `+tls-ca=${first.ca}`,
      `+tls-hostname=${HOST}`,
      'www.example.test',
      'A',
    ]);
    assert.equal(dnsStatus(r.raw), 'NOERROR', r.raw);
    assert.match(r.raw, /TLS session \(TLS1\.[23]\)/, r.raw);
    assert.match(r.answers.join('\n'), /192\.0\.2\.1/);
    assert.equal(dw.server.snapshot().queries.tls, before + 1);
  });

  it('answers pipelined queries on one DoT connection', async () => {
    const client = await DotClient.connect(dotPort, first.ca);
    const queries = [1, 2, 3, 4].map((id) =>
      frame(encodeQuery(id % 2 ? 'www.example.test' : 'short.example.test', 'A', { id })),
    );
    const answers: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      client.socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          answers.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
          buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
        }
        if (answers.length === 4) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    client.socket.write(Buffer.concat(queries));
    await done;
    client.socket.destroy();
    assert.deepEqual(answers.map((a) => a.readUInt16BE(0)).sort(), [1, 2, 3, 4]);
  });

  it('answers kdig over HTTPS, POST and GET, with transport https', async () => {
    const before = dw.server.snapshot().queries.https;
    for (const method of ['+https', '+https-get']) {
      const r = await kdig('127.0.0.1', dohPort, [
        method,
        `+tls-ca=${first.ca}`,
        `+tls-hostname=${HOST}`,
        'www.example.test',
        'A',
      ]);
      assert.equal(dnsStatus(r.raw), 'NOERROR', r.raw);
      assert.match(r.raw, /\(HTTP\/2-(POST|GET)\)/, r.raw);
      assert.match(r.answers.join('\n'), /192\.0\.2\.1/, r.raw);
    }
    assert.equal(dw.server.snapshot().queries.https, before + 2);
  });

  it('records the transport in the query log', async () => {
    await kdig('127.0.0.1', dotPort, [
      '+tls',
      `+tls-ca=${first.ca}`,
      `+tls-hostname=${HOST}`,
      'logged-tls.example.test',
      'A',
    ]);
    await kdig('127.0.0.1', dohPort, [
      '+https',
      `+tls-ca=${first.ca}`,
      `+tls-hostname=${HOST}`,
      'logged-https.example.test',
      'A',
    ]);
    await dw.server.queryLog.settle();
    const tlsRows = await dw.server.queryLog.queries({ domain: 'logged-tls.example.test' });
    const httpsRows = await dw.server.queryLog.queries({ domain: 'logged-https.example.test' });
    assert.deepEqual(
      tlsRows.map((q) => [q.transport, q.client]),
      [['tls', '127.0.0.1']],
    );
    assert.deepEqual(
      httpsRows.map((q) => [q.transport, q.client]),
      [['https', '127.0.0.1']],
    );
  });

  it('cuts a tunnel over DoH within 10 queries, as over UDP', async () => {
    const ca = readPem(first.ca);
    const session = http2.connect(`https://${HOST}:${dohPort}`, { host: '127.0.0.1', servername: HOST, ca });
    session.on('error', () => {});
    const post = (wire: Buffer) =>
      new Promise<Buffer>((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': '/dns-query',
          'content-type': 'application/dns-message',
        });
        const chunks: Buffer[] = [];
        req.setTimeout(3000, () => reject(new Error('DoH timeout')));
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
        req.end(wire);
      });
    let blockedAt = -1;
    try {
      for (let i = 0; i < 30 && blockedAt === -1; i++) {
        const name = `${randomBytes(25).toString('hex').slice(0, 40)}.${randomBytes(15).toString('hex').slice(0, 24)}.tunnel.test`;
        const answer = dnsPacket.decode(await post(encodeQuery(name, 'TXT', { edns: true, id: 0 })));
        const opt = (answer.additionals ?? []).find((a) => a.type === 'OPT') as
          { options?: Array<{ code: number; data?: Buffer }> } | undefined;
        if (opt?.options?.some((o) => o.code === 15 && o.data?.subarray(2).toString().includes('Tunnel Guard')))
          blockedAt = i;
      }
    } finally {
      session.close();
    }
    assert.ok(blockedAt >= 0 && blockedAt < 10, `first query Tunnel Guard blocked over DoH: ${blockedAt}`);
  });

  it('answers curl over HTTP/1.1 and HTTP/2, with the answer TTL as max-age', async () => {
    const query = encodeQuery('short.example.test', 'A', { id: 0 });
    const queryFile = join(dir, 'query.bin');
    writeFileSync(queryFile, query);
    const url = `https://${HOST}:${dohPort}/dns-query`;
    const common = ['--cacert', first.ca, '--resolve', `${HOST}:${dohPort}:127.0.0.1`];
    for (const version of ['--http1.1', '--http2']) {
      const post = await curl([
        ...common,
        version,
        '-H',
        'content-type: application/dns-message',
        '--data-binary',
        `@${queryFile}`,
        url,
      ]);
      assert.equal(post.status, 200, `${version} POST`);
      assert.match(post.headers, /content-type: application\/dns-message/i);
      const maxAge = Number(/cache-control: max-age=(\d+)/i.exec(post.headers)?.[1]);
      assert.ok(maxAge > 0 && maxAge <= 42, `max-age ${maxAge} within the answer's TTL of 42`);
      assert.deepEqual(addressesOf(post.body), ['192.0.2.2']);
      const get = await curl([...common, version, `${url}?dns=${query.toString('base64url')}`]);
      assert.equal(get.status, 200, `${version} GET`);
      assert.deepEqual(addressesOf(get.body), ['192.0.2.2']);
    }
    assert.match((await curl([...common, '--http1.1', '-w', '%{http_version}', url])).headers, /^HTTP\/1\.1 400/);
    const h2 = await curl([
      ...common,
      '--http2',
      '-H',
      'content-type: application/dns-message',
      '--data-binary',
      `@${queryFile}`,
      url,
    ]);
    assert.match(h2.headers, /^HTTP\/2 200/);
  });

  it('refuses bad DoH requests with 400, 404, 405, 413 and 415', async () => {
    const url = `https://${HOST}:${dohPort}`;
    const common = ['--cacert', first.ca, '--resolve', `${HOST}:${dohPort}:127.0.0.1`, '--http1.1'];
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(70_000, 1));
    const queryFile = join(dir, 'query.bin');
    writeFileSync(queryFile, encodeQuery('www.example.test'));
    assert.equal((await curl([...common, `${url}/dns-query?dns=not*base64`])).status, 400);
    assert.equal((await curl([...common, `${url}/dns-query?dns=AAAA`])).status, 400, 'shorter than a header');
    assert.equal(
      (await curl([...common, `${url}/other?dns=${encodeQuery('www.example.test').toString('base64url')}`])).status,
      404,
    );
    assert.equal((await curl([...common, '-X', 'PUT', `${url}/dns-query`])).status, 405);
    assert.equal(
      (await curl([...common, '-H', 'content-type: text/plain', '--data-binary', `@${queryFile}`, `${url}/dns-query`]))
        .status,
      415,
    );
    assert.equal(
      (
        await curl([
          ...common,
          '-H',
          'content-type: application/dns-message',
          '--data-binary',
          `@${big}`,
          `${url}/dns-query`,
        ])
      ).status,
      413,
    );
    const h2 = [...common.slice(0, -1), '--http2'];
    assert.equal(
      (
        await curl([
          ...h2,
          '-H',
          'content-type: application/dns-message',
          '--data-binary',
          `@${big}`,
          `${url}/dns-query`,
        ])
      ).status,
      413,
      'HTTP/2',
    );
    const refused = dw.server.snapshot().encrypted.doh.refused;
    assert.deepEqual(
      { 400: refused[400], 404: refused[404], 405: refused[405], 413: refused[413], 415: refused[415] },
      { 400: 3, 404: 1, 405: 1, 413: 2, 415: 1 },
      'one 400 from the GET without dns= above',
    );
  });

  it('closes DoH connections left silent past tcp.idleTimeout (HTTP/2 and HTTP/1.1)', async () => {
    const ca = readPem(first.ca);
    const session = http2.connect(`https://${HOST}:${dohPort}`, { host: '127.0.0.1', servername: HOST, ca });
    session.on('error', () => {});
    const h2Closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 9000);
      session.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const h1 = tls.connect({ host: '127.0.0.1', port: dohPort, servername: HOST, ca, ALPNProtocols: ['http/1.1'] });
    await new Promise((resolve) => h1.once('secureConnect', resolve));
    assert.equal(h1.alpnProtocol, 'http/1.1');
    const [h2Done, h1Done] = await Promise.all([h2Closed, closedWithin(h1, 9000)]);
    assert.equal(h2Done, true, 'HTTP/2 session closed (idleTimeout 5s)');
    assert.equal(h1Done, true, 'HTTP/1.1 connection closed (idleTimeout 5s)');
  });

  it('closes a DoT client that sends garbage or stalls, and keeps answering others', async () => {
    const garbage = net.connect({ host: '127.0.0.1', port: dotPort });
    await new Promise((resolve) => garbage.once('connect', resolve));
    garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\n\x00\x05hello'));
    const stalled = net.connect({ host: '127.0.0.1', port: dotPort });
    await new Promise((resolve) => stalled.once('connect', resolve));
    const client = await DotClient.connect(dotPort, first.ca);
    assert.deepEqual(addressesOf(await client.ask('www.example.test', 7)), ['192.0.2.1']);
    assert.equal(await closedWithin(garbage, 3000), true, 'garbage closed');
    // readTimeout is 1s: a handshake that never starts is closed by the sweep.
    assert.equal(await closedWithin(stalled, 4000), true, 'stalled handshake closed');
    assert.deepEqual(
      addressesOf(await client.ask('www.example.test', 8)),
      ['192.0.2.1'],
      'the good client is unharmed',
    );
    const dot = dw.server.snapshot().encrypted.dot;
    assert.ok(dot.handshakeFailures >= 1, 'the garbage is counted as a failed handshake');
    assert.ok(dot.closed.readTimeout >= 1, 'the stalled handshake is closed by the read timeout');
    client.socket.destroy();
  });

  it('takes a new certificate on reload without dropping an open connection', async () => {
    const open = await DotClient.connect(dotPort, first.ca);
    assert.deepEqual(addressesOf(await open.ask('www.example.test', 21)), ['192.0.2.1']);
    const text = configText(unbound.port, dotPort, dohPort, second).replaceAll('@PORT@', String(dw.port));
    const raw = parseConfigText(text, 'reload') as Record<string, unknown>;
    Object.assign(raw, { threads: 0, log: { level: 'silent' }, console: { listen: null }, dataDir: dw.dataDir });
    await dw.server.reload(validateConfig(raw, 'reload'));
    assert.deepEqual(
      addressesOf(await open.ask('www.example.test', 22)),
      ['192.0.2.1'],
      'open connection still answers',
    );
    const fresh = await DotClient.connect(dotPort, second.ca);
    assert.deepEqual(addressesOf(await fresh.ask('www.example.test', 23)), ['192.0.2.1']);
    await assert.rejects(
      DotClient.connect(dotPort, first.ca),
      /certificate/i,
      'the old CA no longer verifies new connections',
    );
    const doh = await kdig('127.0.0.1', dohPort, [
      '+https',
      `+tls-ca=${second.ca}`,
      `+tls-hostname=${HOST}`,
      'www.example.test',
      'A',
    ]);
    assert.equal(dnsStatus(doh.raw), 'NOERROR', doh.raw);
    assert.match(doh.answers.join('\n'), /192\.0\.2\.1/, doh.raw);
    open.socket.destroy();
    fresh.socket.destroy();
  });
});

describe('DNS over TLS and HTTPS with I/O threads', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let files: TlsFiles;
  let dotPort: number;
  let dohPort: number;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-encrypted-threads-'));
    files = makeCaSignedCert(dir, 'threads', HOST);
    unbound = await UnboundServer.start({
      zones: ['example.test', 'tunnel.test'],
      records: ['www.example.test. 300 IN A 192.0.2.1'],
    });
    dotPort = await freePort();
    dohPort = await freePort();
    dw = await startDnsward(`threads: 2\n${configText(unbound.port, dotPort, dohPort, files)}`);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('serves DoT and DoH from the thread that takes TCP', async () => {
    const bound = dw.server.boundAddresses();
    assert.deepEqual(bound.dot, [`127.0.0.1:${dotPort}`]);
    assert.deepEqual(bound.doh, [`127.0.0.1:${dohPort}`]);
    for (const transport of ['+tls', '+https']) {
      const port = transport === '+tls' ? dotPort : dohPort;
      const r = await kdig('127.0.0.1', port, [
        transport,
        `+tls-ca=${files.ca}`,
        `+tls-hostname=${HOST}`,
        'www.example.test',
        'A',
      ]);
      assert.equal(dnsStatus(r.raw), 'NOERROR', r.raw);
      assert.match(r.answers.join('\n'), /192\.0\.2\.1/, r.raw);
    }
  });

  it('gives the thread the new certificate on reload', async () => {
    const renewed = makeCaSignedCert(mkdtempSync(join(tmpdir(), 'dnsward-encrypted-threads-')), 'renewed', HOST);
    const raw = parseConfigText(
      `threads: 2\n${configText(unbound.port, dotPort, dohPort, renewed).replaceAll('@PORT@', String(dw.port))}`,
      'reload',
    ) as Record<string, unknown>;
    Object.assign(raw, { log: { level: 'silent' }, console: { listen: null }, dataDir: dw.dataDir });
    await dw.server.reload(validateConfig(raw, 'reload'));
    for (const transport of ['+tls', '+https']) {
      const port = transport === '+tls' ? dotPort : dohPort;
      const r = await kdig('127.0.0.1', port, [
        transport,
        `+tls-ca=${renewed.ca}`,
        `+tls-hostname=${HOST}`,
        'www.example.test',
        'A',
      ]);
      assert.equal(dnsStatus(r.raw), 'NOERROR', r.raw);
    }
  });
});
