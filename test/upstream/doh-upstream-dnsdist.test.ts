/**
 * dnsward forwarding over DNS over HTTPS to a real dnsdist (Debian's 1.7.3, HTTP/2 by h2o)
 * serving DoH with a certificate from a test CA, in front of a real unbound: answers come back,
 * through one connection, with the certificate verified (a wrong CA fails and fails over).
 * dnsdist runs with setSecurityPollSuffix("") so it never looks outside.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCaSignedCert, type TlsFiles } from '../helpers/certificates.js';
import { dig, waitForDns } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

const HOST = 'doh.dnsdist.test';

describe('DoH upstream: a real dnsdist', () => {
  let unbound: UnboundServer;
  let dnsdist: ChildProcess;
  let files: TlsFiles;
  let other: TlsFiles;
  let dohPort: number;
  const running: RunningDnsward[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-dnsdist-doh-'));
    files = makeCaSignedCert(dir, 'dnsdist', HOST);
    other = makeCaSignedCert(dir, 'other', HOST);
    unbound = await UnboundServer.start({
      zones: ['dd.test'],
      records: Array.from({ length: 20 }, (_, i) => `n${i}.dd.test. 300 IN A 192.0.2.${i + 1}`),
    });
    const udpPort = await freePort();
    dohPort = await freePort();
    const conf = join(dir, 'dnsdist.conf');
    writeFileSync(
      conf,
      [
        'setSecurityPollSuffix("")',
        `setLocal("127.0.0.1:${udpPort}")`,
        `newServer({address="127.0.0.1:${unbound.port}"})`,
        `addDOHLocal("127.0.0.1:${dohPort}", "${files.cert}", "${files.key}", "/dns-query")`,
      ].join('\n') + '\n',
    );
    dnsdist = spawn('dnsdist', ['-C', conf, '--supervised', '--disable-syslog'], { stdio: 'ignore' });
    await waitForDns('127.0.0.1', udpPort);
  });

  after(async () => {
    for (const d of running) await d.stop();
    if (dnsdist?.exitCode === null) {
      const exited = new Promise((r) => dnsdist.once('exit', r));
      dnsdist.kill('SIGTERM');
      await exited;
    }
    await unbound?.stop();
  });

  const start = async (ca: string, fallback = '') => {
    const d = await startDnsward(`listen: ["127.0.0.1:@PORT@"]
cache: { enabled: false }
upstreams:
  timeout: 1s
  attempts: 2
  healthCheck: { interval: 0s }
  servers:
    - { address: "127.0.0.1:${dohPort}", protocol: https, path: /dns-query, tls: { ca: "${ca}", serverName: ${HOST} } }
${fallback}`);
    running.push(d);
    return d;
  };

  it('forwards over DoH to dnsdist, many queries on one connection', async () => {
    const d = await start(files.ca);
    for (let i = 0; i < 20; i++) {
      const r = await dig('127.0.0.1', d.port, [`n${i}.dd.test`, 'A']);
      assert.equal(r.status, 'NOERROR', r.raw);
      assert.match(r.answers.join('\n'), new RegExp(`192\\.0\\.2\\.${i + 1}$`));
    }
    const up = d.server.snapshot().upstreams.find((u) => u.protocol === 'https')!;
    assert.equal(up.answers, 20);
    assert.equal(up.connections, 1);
  });

  it('refuses a certificate its CA did not sign, and fails over', async () => {
    const d = await start(other.ca, `    - "127.0.0.1:${unbound.port}"\n`);
    const r = await dig('127.0.0.1', d.port, ['n3.dd.test', 'A']);
    assert.equal(r.status, 'NOERROR', 'answered by the plain upstream after the DoH one failed');
    const up = d.server.snapshot().upstreams.find((u) => u.protocol === 'https')!;
    assert.equal(up.answers, 0);
    assert.ok(up.errors >= 1, `errors ${up.errors}`);
  });
});
