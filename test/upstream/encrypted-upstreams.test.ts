/**
 * Upstreams over DNS over TLS and DNS over HTTPS: dnsward forwarding to a real unbound serving
 * DoT (`tls-port`) and DoH (`https-port`, HTTP/2) with a certificate from a test CA made by
 * openssl. Checked: answers come back over both, many queries share one connection, the
 * certificate is verified (a wrong CA or name is a failure, and failover takes the next
 * upstream), and a stopped encrypted upstream fails over and comes back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCaSignedCert, type TlsFiles } from '../helpers/certificates.js';
import { dig } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';
import { askUpstreamOnce } from '../../src/upstream/ask-once.js';
import { readFileSync } from 'node:fs';

const HOST = 'resolver.test';

describe('encrypted upstreams (DoT and DoH to a real unbound)', () => {
  let unbound: UnboundServer;
  let dir: string;
  let files: TlsFiles;
  let other: TlsFiles;
  let dotPort: number;
  let dohPort: number;
  const running: RunningDnsward[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dnsward-enc-up-'));
    files = makeCaSignedCert(dir, 'resolver', HOST);
    other = makeCaSignedCert(dir, 'other', HOST);
    dotPort = await freePort();
    dohPort = await freePort();
    unbound = await UnboundServer.start({
      zones: ['enc.test'],
      records: [
        'www.enc.test. 300 IN A 192.0.2.53',
        ...Array.from({ length: 40 }, (_, i) => `n${i}.enc.test. 300 IN A 192.0.2.${100 + i}`),
      ],
      extra: [
        `interface: 127.0.0.1@${dotPort}`,
        `interface: 127.0.0.1@${dohPort}`,
        `tls-port: ${dotPort}`,
        `https-port: ${dohPort}`,
        `tls-service-key: "${files.key}"`,
        `tls-service-pem: "${files.cert}"`,
        'http-endpoint: "/dns-query"',
      ],
    });
  });

  after(async () => {
    for (const d of running) await d.stop();
    await unbound?.stop();
  });

  async function start(servers: string, healthCheck = '{ interval: 0s }'): Promise<RunningDnsward> {
    const d = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
cache: { enabled: false }
upstreams:
  timeout: 1s
  attempts: 2
  healthCheck: ${healthCheck}
  servers:
${servers}
`);
    running.push(d);
    return d;
  }

  const dot = (ca: string, name = HOST) =>
    `    - { address: "127.0.0.1:${dotPort}", protocol: tls, tls: { ca: "${ca}", serverName: ${name} } }`;
  const doh = (ca: string, name = HOST) =>
    `    - { address: "127.0.0.1:${dohPort}", protocol: https, path: /dns-query, tls: { ca: "${ca}", serverName: ${name} } }`;

  for (const [label, server] of [
    ['DoT', () => dot(files.ca)],
    ['DoH', () => doh(files.ca)],
  ] as const) {
    it(`forwards over ${label}, many queries on one connection`, async () => {
      const d = await start(server());
      const first = await dig('127.0.0.1', d.port, ['www.enc.test', 'A']);
      assert.equal(first.status, 'NOERROR', first.raw);
      assert.match(first.answers.join('\n'), /192\.0\.2\.53/);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => dig('127.0.0.1', d.port, [`n${i}.enc.test`, 'A'])),
      );
      answers.forEach((a, i) =>
        assert.match(a.answers.join('\n'), new RegExp(`192\\.0\\.2\\.${100 + i}\\b`), `n${i}: ${a.raw}`),
      );
      const up = d.server.snapshot().upstreams[0];
      assert.equal(up.protocol, label === 'DoT' ? 'tls' : 'https');
      assert.equal(up.answers, 41);
      assert.equal(up.errors, 0);
      assert.equal(up.connections, 1, 'every query went over the first connection');
    });

    it(`refuses a ${label} upstream whose certificate does not verify, and fails over`, async () => {
      // A certificate from another CA, then the right CA for the wrong name: both are refused.
      const wrongCa = await start(label === 'DoT' ? dot(other.ca) : doh(other.ca));
      const refused = await dig('127.0.0.1', wrongCa.port, ['www.enc.test', 'A']);
      assert.equal(refused.status, 'SERVFAIL', refused.raw);
      const wrongName = await start(
        label === 'DoT' ? dot(files.ca, 'elsewhere.test') : doh(files.ca, 'elsewhere.test'),
      );
      assert.equal((await dig('127.0.0.1', wrongName.port, ['www.enc.test', 'A'])).status, 'SERVFAIL');
      for (const d of [wrongCa, wrongName]) {
        const up = d.server.snapshot().upstreams[0];
        assert.equal(up.answers, 0);
        assert.ok(up.errors >= 1, `certificate failures count as errors: ${JSON.stringify(up)}`);
      }
      // With a good upstream after the bad one, clients are answered.
      const failover = await start(
        `${label === 'DoT' ? dot(other.ca) : doh(other.ca)}\n    - "127.0.0.1:${unbound.port}"`,
      );
      const answered = await dig('127.0.0.1', failover.port, ['www.enc.test', 'A']);
      assert.equal(answered.status, 'NOERROR', answered.raw);
      assert.match(answered.answers.join('\n'), /192\.0\.2\.53/);
    });
  }

  it('fails over when the encrypted upstream stops, and uses it again when it is back', async () => {
    const port = await freePort();
    const second = await UnboundServer.start({
      zones: ['enc.test'],
      records: ['www.enc.test. 300 IN A 192.0.2.54'],
      extra: [
        `interface: 127.0.0.1@${port}`,
        `tls-port: ${port}`,
        `tls-service-key: "${files.key}"`,
        `tls-service-pem: "${files.cert}"`,
      ],
    });
    try {
      const d = await start(
        `    - { address: "127.0.0.1:${port}", protocol: tls, tls: { ca: "${files.ca}", serverName: ${HOST} } }\n    - "127.0.0.1:${unbound.port}"`,
        '{ interval: 200ms, timeout: 500ms }',
      );
      const ask = async () => (await dig('127.0.0.1', d.port, ['www.enc.test', 'A'])).answers.join('\n');
      assert.match(await ask(), /192\.0\.2\.54/, 'the DoT upstream answers first');
      await second.stop();
      assert.match(await ask(), /192\.0\.2\.53/, 'the plain upstream answers while the DoT one is down');
      await second.resume();
      let back = false;
      for (let i = 0; i < 50 && !back; i++) {
        await new Promise((r) => setTimeout(r, 100));
        back = d.server.snapshot().upstreams[0].healthy && /192\.0\.2\.54/.test(await ask());
      }
      assert.ok(back, 'the DoT upstream answers again once it is back');
      assert.ok(d.server.snapshot().upstreams[0].connections >= 2, 'it reconnected');
    } finally {
      await second.stop();
    }
  });

  it('lets tools (dnsward why) ask over the same DoT and DoH transports', async () => {
    const ca = readFileSync(files.ca, 'utf8');
    for (const protocol of ['tls', 'https'] as const) {
      const port = protocol === 'tls' ? dotPort : dohPort;
      const answer = await askUpstreamOnce(
        { address: { host: '127.0.0.1', port, family: 4 }, protocol, tls: { ca, serverName: HOST } },
        'www.enc.test',
        1,
        2000,
      );
      assert.equal(answer[3] & 0xf, 0, `${protocol}: NOERROR`);
      assert.ok(answer.includes(Buffer.from([192, 0, 2, 53])), `${protocol}: the A record`);
      await assert.rejects(
        askUpstreamOnce(
          { address: { host: '127.0.0.1', port, family: 4 }, protocol, tls: { ca, serverName: 'elsewhere.test' } },
          'www.enc.test',
          1,
          2000,
        ),
      );
    }
  });

  it('rejects tls options on a plain upstream and a path on a non-DoH one, naming the key', async () => {
    await assert.rejects(
      start(`    - { address: "127.0.0.1:${unbound.port}", protocol: udp, tls: { serverName: x.test } }`),
      /tls applies to protocol tls or https/,
    );
    await assert.rejects(
      start(`    - { address: "127.0.0.1:${dotPort}", protocol: tls, path: /dns-query }`),
      /path applies to protocol https/,
    );
  });
});
