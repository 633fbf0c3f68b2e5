/**
 * A real dns2tcp tunnel (Debian's dns2tcpd and dns2tcpc) through dnsward: the client lives in
 * one network namespace and uses dnsward as its resolver; dnsward forwards the tunnel zone to
 * dns2tcpd in a second namespace (dns2tcp insists on port 53) and everything else to a local
 * unbound. Tunnel Guard runs in monitor mode here, so the transfer succeeds (and dnsward reports
 * what it would have blocked); a tcpdump capture of the client's DNS traffic is then analysed
 * offline by `dnsward analyze`, which must block the tunnel within 10 queries, and read the
 * capture as tshark does. Blocking inline: guard-inline.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDnsMessage } from '../../src/dns/message-summary.js';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { presentName } from '../../src/dns/name.js';
import { runCli } from '../helpers/cli.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { NetnsLab } from '../helpers/netns.js';
import { PacketCapture } from '../helpers/tcpdump.js';
import { UnboundServer } from '../helpers/unbound.js';

const ZONE = 'tunnel.test';

describe('dns2tcp through dnsward (network namespaces)', () => {
  let lab: NetnsLab;
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let dir: string;
  let capture: PacketCapture | undefined;

  before(async () => {
    lab = NetnsLab.create(['client', 'server']);
    const client = lab.ns('client');
    const server = lab.ns('server');
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(`
listen: ["${client.rootAddress}:53"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
guard: { mode: monitor }
threads: 2
forwardZones:
  - zone: ${ZONE}
    servers: ["${server.address}:53"]
`);
    dir = mkdtempSync(join(tmpdir(), 'dnsward-dns2tcp-'));
    writeFileSync(
      join(dir, 'dns2tcpd.conf'),
      [
        `listen = ${server.address}`,
        'port = 53',
        'user = nobody',
        `chroot = ${dir}`,
        `domain = ${ZONE}`,
        'resources = echo:127.0.0.1:7777',
      ].join('\n') + '\n',
    );
    await lab.startEchoServer('server', '127.0.0.1', 7777);
    const dns2tcpd = lab.spawn('server', 'dns2tcpd', ['-F', '-d', '1', '-f', join(dir, 'dns2tcpd.conf')]);
    await NetnsLab.waitForOutput(dns2tcpd, 'Listening on');
  });

  after(async () => {
    await capture?.stop();
    await dw?.stop();
    await unbound?.stop();
    await lab?.destroy();
  });

  it('carries a 4 KB echo through the tunnel, while ordinary lookups keep working', async () => {
    const client = lab.ns('client');
    capture = await PacketCapture.start(client.rootInterface, join(dir, 'client.pcap'));
    const tunnel = lab.spawn('client', 'dns2tcpc', ['-z', ZONE, '-r', 'echo', '-l', '4444', client.rootAddress]);
    await NetnsLab.waitForOutput(tunnel, 'Listening on port');
    assert.equal(await lab.echoTransfer('client', '127.0.0.1', 4444, 4096), 'echo intact');
    await dw.server.refresh();
    const zonePool = dw.server.snapshot().upstreams.filter((u) => u.pool === ZONE);
    assert.ok(zonePool[0].answers > 10, `tunnel queries went through the forward zone: ${JSON.stringify(zonePool)}`);
    const guard = dw.server.snapshot().guard;
    assert.ok(
      guard.wouldBlock > 0 && guard.blocked === 0,
      `monitor mode reports and blocks nothing: ${JSON.stringify(guard)}`,
    );
    const lookup = lab.spawn('client', 'dig', [
      `@${client.rootAddress}`,
      '+tries=1',
      '+time=3',
      'www.example.test',
      'A',
      '+short',
    ]);
    await new Promise((r) => lookup.once('exit', r));
    assert.match(lookup.output(), /192\.0\.2\.10/);
    await capture.stop();
  });

  it('reads the capture as tshark does: same queries, same names, same order', () => {
    const file = join(dir, 'client.pcap');
    const tshark = execFileSync(
      'tshark',
      ['-r', file, '-Y', 'dns.flags.response == 0', '-T', 'fields', '-e', 'dns.qry.name'],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter((l) => l !== '');
    const ours = readCapture(readFileSync(file))
      .messages.map((m) => readDnsMessage(m.message))
      .filter((d) => typeof d !== 'string' && !d.response)
      .map((d) => presentName((d as { labels: string[] }).labels));
    assert.ok(tshark.length > 20, `tshark saw ${tshark.length} queries`);
    assert.deepEqual(ours, tshark);
  });

  it('dnsward analyze blocks the captured tunnel within 10 queries, and only the tunnel', async () => {
    const out = join(dir, 'verdicts.jsonl');
    const { code, stderr } = await runCli(['analyze', '--out', out, join(dir, 'client.pcap')]);
    assert.equal(code, 0, stderr);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { qname: string; domain: string; action: string; stages: unknown[] });
    const tunnelQueries = lines.filter((l) => l.domain === ZONE);
    const firstBlock = tunnelQueries.findIndex((l) => l.action === 'block');
    assert.ok(
      firstBlock >= 0 && firstBlock <= 10,
      `first block at tunnel query ${firstBlock} of ${tunnelQueries.length}`,
    );
    assert.ok(
      lines.filter((l) => l.domain !== ZONE).every((l) => l.action !== 'block'),
      'no other domain blocked',
    );
    assert.ok(tunnelQueries[firstBlock].stages.length === 5, 'the block carries all five stages');
    assert.match(stderr, new RegExp(`BLOCK\\s+${ZONE.replace('.', '\\.')}`));
  });
});
