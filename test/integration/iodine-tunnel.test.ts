/**
 * A real iodine tunnel (Debian's iodined and iodine, IP over DNS through /dev/net/tun) through
 * dnsward: client and server each in their own network namespace (one namespace would deliver
 * the tunnel's addresses locally), dnsward forwarding the tunnel zone to iodined. `-r` keeps
 * the client from trying raw UDP to the server, so every byte crosses dnsward. In monitor mode
 * the tunnel works; with Tunnel Guard blocking, it is cut within 10 queries (counted by tcpdump
 * on iodined's link) and never carries the echo.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDnsMessage } from '../../src/dns/message-summary.js';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { PacketCapture } from '../helpers/tcpdump.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { NetnsLab } from '../helpers/netns.js';
import { UnboundServer } from '../helpers/unbound.js';

const ZONE = 'iodine.test';

/** Namespaces, unbound, dnsward (in `mode`) forwarding the zone to a running iodined with an echo server behind it. */
function iodineSetup(mode: 'monitor' | 'block'): { lab: () => NetnsLab; dw: () => RunningDnsward } {
  let lab: NetnsLab;
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  before(async () => {
    lab = NetnsLab.create(['ioclient', 'ioserver']);
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(`
listen: ["${lab.ns('ioclient').rootAddress}:53"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
guard: { mode: ${mode} }
threads: 2
forwardZones:
  - zone: ${ZONE}
    servers: ["${lab.ns('ioserver').address}:53"]
`);
    const server = lab.spawn('ioserver', 'iodined', [
      '-f',
      '-c',
      '-P',
      'dnsward-test',
      '-l',
      lab.ns('ioserver').address,
      '-p',
      '53',
      '10.53.0.1/27',
      ZONE,
    ]);
    await NetnsLab.waitForOutput(server, 'Listening to dns');
    await lab.startEchoServer('ioserver', '10.53.0.1', 7777);
  });
  after(async () => {
    await dw?.stop();
    await unbound?.stop();
    await lab?.destroy();
  });
  return { lab: () => lab, dw: () => dw };
}

describe('iodine through dnsward (network namespaces, /dev/net/tun)', () => {
  const setup = iodineSetup('monitor');

  it('sets up the tunnel and carries a 4 KB echo over it', async () => {
    const lab = setup.lab();
    const dw = setup.dw();
    const client = lab.spawn('ioclient', 'iodine', [
      '-f',
      '-r',
      '-P',
      'dnsward-test',
      lab.ns('ioclient').rootAddress,
      ZONE,
    ]);
    await NetnsLab.waitForOutput(client, 'Connection setup complete', 30_000);
    assert.equal(await lab.echoTransfer('ioclient', '10.53.0.1', 7777, 4096), 'echo intact');
    await dw.server.refresh();
    const zonePool = dw.server.snapshot().upstreams.filter((u) => u.pool === ZONE);
    assert.ok(zonePool[0].answers > 10, JSON.stringify(zonePool));
  });
});

describe('iodine through dnsward with Tunnel Guard blocking', () => {
  const setup = iodineSetup('block');

  it('cuts the tunnel within 10 queries: the echo never makes it', async () => {
    const lab = setup.lab();
    const dw = setup.dw();
    const file = join(mkdtempSync(join(tmpdir(), 'dnsward-iodine-')), 'server-link.pcap');
    const capture = await PacketCapture.start(lab.ns('ioserver').rootInterface, file);
    const client = lab.spawn('ioclient', 'iodine', [
      '-f',
      '-r',
      '-P',
      'dnsward-test',
      lab.ns('ioclient').rootAddress,
      ZONE,
    ]);
    let result: string;
    try {
      await NetnsLab.waitForOutput(client, 'Connection setup complete', 20_000);
      result = await lab.echoTransfer('ioclient', '10.53.0.1', 7777, 4096);
    } catch (err) {
      result = `failed: ${(err as Error).message.split('\n')[0]}`;
    }
    client.kill('SIGKILL');
    await capture.stop();
    assert.notEqual(result, 'echo intact');
    const reached = readCapture(readFileSync(file)).messages.filter((m) => {
      const d = readDnsMessage(m.message);
      return typeof d !== 'string' && !d.response && d.labels.join('.').toLowerCase().endsWith(ZONE);
    }).length;
    assert.ok(reached <= 10, `${reached} tunnel queries reached iodined`);
    await dw.server.refresh();
    const guard = dw.server.snapshot().guard;
    assert.ok(guard.blocked > 0 && guard.domainBlocks >= 1, JSON.stringify(guard));
  });
});
