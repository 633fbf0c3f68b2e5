/**
 * dnstap: Debian's fstrm_capture (a real Frame Streams collector) receives what dnsward sends,
 * and Debian's dnstap-ldns decodes it. The collector starts after dnsward, so the test also
 * shows DNS going on without it, the drops counted, and the reconnect.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('dnstap to a real Frame Streams collector', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-dnstap-'));
  const socket = join(dir, 'dnstap.sock');
  const capture = join(dir, 'capture.fstrm');
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let collector: ChildProcess | null = null;
  let decoded = '';

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\ndnstap: { address: "unix:${socket}", identity: dnsward-test }\n`,
    );
  });

  after(async () => {
    collector?.kill('SIGKILL');
    await dw?.stop();
    await unbound?.stop();
  });

  it('answers while no collector listens, and counts what it could not send', async () => {
    const r = await dig('127.0.0.1', dw.port, ['www.example.test', 'A']);
    assert.equal(r.status, 'NOERROR');
    const s = dw.server.snapshot().dnstap!;
    assert.equal(s.connected, false);
    assert.equal(s.sent, 0);
    assert.ok(s.dropped >= 2, `${s.dropped} dropped`);
  });

  it('connects when the collector appears; dnstap-ldns decodes queries, responses and the block policy', async () => {
    collector = spawn('fstrm_capture', ['-t', 'protobuf:dnstap.Dnstap', '-u', socket, '-w', capture], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let collectorLog = '';
    collector.stderr!.on('data', (d) => (collectorLog += d));
    await until('dnsward to connect to fstrm_capture', () => dw.server.snapshot().dnstap!.connected, 15_000);
    assert.equal((await dig('127.0.0.1', dw.port, ['www.example.test', 'A'])).status, 'NOERROR');
    assert.equal((await dig('127.0.0.1', dw.port, ['www.example.test', 'A', '+tcp'])).status, 'NOERROR');
    const r = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.leaky-tap.test`,
        'TXT',
      ]);
    const sent = dw.server.snapshot().dnstap!.sent;
    assert.equal(sent, 2 * 14);
    // Closing sends STOP; fstrm_capture answers FINISH and writes its file when it ends.
    await dw.server.dnstap!.close();
    collector.kill('SIGTERM');
    await new Promise((resolve) => collector!.once('exit', resolve));
    collector = null;
    assert.ok(existsSync(capture) && statSync(capture).size > 0, `no capture written: ${collectorLog}`);
    decoded = (await promisify(execFile)('dnstap-ldns', ['-y', '-r', capture], { maxBuffer: 16 << 20 })).stdout;
    const messages = decoded.split(/^---$/m).filter((m) => m.includes('type: MESSAGE'));
    assert.equal(messages.length, sent, 'every frame sent is decoded');
    const queries = messages.filter((m) => /^ +type: CLIENT_QUERY/m.test(m));
    const responses = messages.filter((m) => /^ +type: CLIENT_RESPONSE/m.test(m));
    assert.equal(queries.length, 14);
    assert.equal(responses.length, 14);
    const first = responses[0];
    assert.match(first, /identity: "?dnsward-test"?/);
    assert.match(first, /version: "?dnsward /);
    assert.match(first, /socket_family: INET/);
    assert.match(first, /socket_protocol: UDP/);
    assert.match(first, /query_address: "?127\.0\.0\.1"?/);
    assert.match(first, /www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10/);
    assert.ok(
      responses.some((m) => /socket_protocol: TCP/.test(m)),
      'the TCP query is logged as TCP',
    );
    const blocked = responses.filter((m) => /leaky-tap\.test/.test(m) && /NXDOMAIN/.test(m));
    assert.ok(blocked.length >= 1, decoded.slice(-3000));
  });
});
