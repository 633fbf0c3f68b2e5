/**
 * A real dns2tcp tunnel (Debian's dns2tcpd and dns2tcpc) through dnsward: the client lives in
 * one network namespace and uses dnsward as its resolver; dnsward forwards the tunnel zone to
 * dns2tcpd in a second namespace (dns2tcp insists on port 53) and everything else to a local
 * unbound. Today dnsward forwards the tunnel faithfully; Tunnel Guard (issues 3 and 4) will
 * make this same setup prove that it is cut.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { NetnsLab } from '../helpers/netns.js';
import { UnboundServer } from '../helpers/unbound.js';

const ZONE = 'tunnel.test';

describe('dns2tcp through dnsward (network namespaces)', () => {
  let lab: NetnsLab;
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    lab = NetnsLab.create(['client', 'server']);
    const client = lab.ns('client');
    const server = lab.ns('server');
    unbound = await UnboundServer.start({ zones: ['example.test'], records: ['www.example.test. 300 IN A 192.0.2.10'] });
    dw = await startDnsward(`
listen: ["${client.rootAddress}:53"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
forwardZones:
  - zone: ${ZONE}
    servers: ["${server.address}:53"]
`);
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-dns2tcp-'));
    writeFileSync(join(dir, 'dns2tcpd.conf'), [
      `listen = ${server.address}`, 'port = 53', 'user = nobody', `chroot = ${dir}`, `domain = ${ZONE}`, 'resources = echo:127.0.0.1:7777',
    ].join('\n') + '\n');
    await lab.startEchoServer('server', '127.0.0.1', 7777);
    const dns2tcpd = lab.spawn('server', 'dns2tcpd', ['-F', '-d', '1', '-f', join(dir, 'dns2tcpd.conf')]);
    await NetnsLab.waitForOutput(dns2tcpd, 'Listening on');
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
    await lab?.destroy();
  });

  it('carries a 4 KB echo through the tunnel, while ordinary lookups keep working', async () => {
    const client = lab.ns('client');
    const tunnel = lab.spawn('client', 'dns2tcpc', ['-z', ZONE, '-r', 'echo', '-l', '4444', client.rootAddress]);
    await NetnsLab.waitForOutput(tunnel, 'Listening on port');
    assert.equal(await lab.echoTransfer('client', '127.0.0.1', 4444, 4096), 'echo intact');
    const zonePool = dw.server.snapshot().upstreams.filter((u) => u.pool === ZONE);
    assert.ok(zonePool[0].answers > 10, `tunnel queries went through the forward zone: ${JSON.stringify(zonePool)}`);
    const lookup = lab.spawn('client', 'dig', [`@${client.rootAddress}`, '+tries=1', '+time=3', 'www.example.test', 'A', '+short']);
    await new Promise((r) => lookup.once('exit', r));
    assert.match(lookup.output(), /192\.0\.2\.10/);
  });
});
