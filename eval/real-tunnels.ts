/**
 * Real tunnel traffic for `npm run eval`: Debian's iodine and dns2tcp, run in network namespaces
 * this script creates (as the integration tests do), through a dnsward that forwards the tunnel
 * zone to the tunnel server, captured with tcpdump on the client's link and read back with
 * dnsward's own capture reader. Each run varies the query type (iodine: NULL, TXT, CNAME, MX,
 * SRV; dns2tcp: TXT, KEY) and carries a 4 KB echo. Needs root, /dev/net/tun and the tools; what
 * cannot run is reported and skipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDnsMessage } from '../src/dns/message-summary.js';
import { readCapture } from '../src/capture/pcap-reader.js';
import { presentName } from '../src/dns/name.js';
import { startDnsward } from '../test/helpers/dnsward.js';
import { NetnsLab } from '../test/helpers/netns.js';
import { PacketCapture } from '../test/helpers/tcpdump.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { estimatePayload } from './datasets.js';
import type { TunnelSession } from './traffic/synthetic-tunnels.js';

const ZONE = 'tunnel.test';

function have(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Queries to the tunnel zone in a capture, as a session (timestamps as captured). */
function sessionFromCapture(tool: string, file: string): TunnelSession {
  const queries = readCapture(readFileSync(file))
    .messages.map((m) => ({ m, dns: readDnsMessage(m.message) }))
    .filter(({ dns }) => typeof dns !== 'string' && !dns.response)
    .map(({ m, dns }) => {
      const d = dns as Exclude<typeof dns, string>;
      const qname = presentName(d.labels);
      return { ts: m.ts, client: m.src, qname, qtype: d.qtype, payload: estimatePayload(qname, 2) };
    })
    .filter((q) => q.qname.toLowerCase().endsWith(ZONE));
  return { tool, client: queries[0]?.client ?? '', domains: [ZONE], queries };
}

export async function captureRealTunnels(log: (line: string) => void): Promise<TunnelSession[]> {
  if (process.getuid?.() !== 0) {
    log('real tunnels skipped: needs root (network namespaces)');
    return [];
  }
  const sessions: TunnelSession[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-eval-'));
  const unbound = await UnboundServer.start({
    zones: ['example.test'],
    records: ['www.example.test. 300 IN A 192.0.2.10'],
  });
  try {
    if (have('dns2tcpd') && have('tcpdump'))
      for (const type of ['TXT', 'KEY']) sessions.push(await dns2tcpRun(dir, unbound.port, type, log));
    else log('dns2tcp skipped: dns2tcp or tcpdump missing');
    if (have('iodined') && have('tcpdump') && existsSync('/dev/net/tun'))
      for (const type of ['NULL', 'TXT', 'CNAME', 'MX', 'SRV'])
        sessions.push(await iodineRun(dir, unbound.port, type, log));
    else log('iodine skipped: iodine, tcpdump or /dev/net/tun missing');
  } finally {
    await unbound.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return sessions.filter((s) => s.queries.length > 0);
}

/** A dnsward in monitor mode (the capture must hold the whole session) forwarding the tunnel zone. */
function zoneForwarder(listen: string, tunnelServer: string, unboundPort: number) {
  return startDnsward(`
listen: ["${listen}:53"]
upstreams: { servers: ["127.0.0.1:${unboundPort}"] }
guard: { mode: monitor }
forwardZones:
  - zone: ${ZONE}
    servers: ["${tunnelServer}:53"]
`);
}

async function dns2tcpRun(
  dir: string,
  unboundPort: number,
  type: string,
  log: (line: string) => void,
): Promise<TunnelSession> {
  const lab = NetnsLab.create(['client', 'server']);
  const client = lab.ns('client');
  const server = lab.ns('server');
  const dw = await zoneForwarder(client.rootAddress, server.address, unboundPort);
  const file = join(dir, `dns2tcp-${type}.pcap`);
  try {
    const chroot = mkdtempSync(join(dir, 'chroot-'));
    writeFileSync(
      join(dir, 'dns2tcpd.conf'),
      [
        `listen = ${server.address}`,
        'port = 53',
        'user = nobody',
        `chroot = ${chroot}`,
        `domain = ${ZONE}`,
        'resources = echo:127.0.0.1:7777',
      ].join('\n') + '\n',
    );
    await lab.startEchoServer('server', '127.0.0.1', 7777);
    const daemon = lab.spawn('server', 'dns2tcpd', ['-F', '-d', '1', '-f', join(dir, 'dns2tcpd.conf')]);
    await NetnsLab.waitForOutput(daemon, 'Listening on');
    const capture = await PacketCapture.start(client.rootInterface, file);
    const tunnel = lab.spawn('client', 'dns2tcpc', [
      '-T',
      type,
      '-z',
      ZONE,
      '-r',
      'echo',
      '-l',
      '4444',
      client.rootAddress,
    ]);
    await NetnsLab.waitForOutput(tunnel, 'Listening on port');
    log(`dns2tcp -T ${type}: ${await lab.echoTransfer('client', '127.0.0.1', 4444, 4096)}`);
    await capture.stop();
  } finally {
    await dw.stop();
    await lab.destroy();
  }
  return sessionFromCapture(`dns2tcp (real, ${type})`, file);
}

async function iodineRun(
  dir: string,
  unboundPort: number,
  type: string,
  log: (line: string) => void,
): Promise<TunnelSession> {
  const lab = NetnsLab.create(['ioclient', 'ioserver']);
  const client = lab.ns('ioclient');
  const server = lab.ns('ioserver');
  const dw = await zoneForwarder(client.rootAddress, server.address, unboundPort);
  const file = join(dir, `iodine-${type}.pcap`);
  try {
    const daemon = lab.spawn('ioserver', 'iodined', [
      '-f',
      '-c',
      '-P',
      'dnsward-eval',
      '-l',
      server.address,
      '-p',
      '53',
      '10.53.0.1/27',
      ZONE,
    ]);
    await NetnsLab.waitForOutput(daemon, 'Listening to dns');
    await lab.startEchoServer('ioserver', '10.53.0.1', 7777);
    const capture = await PacketCapture.start(client.rootInterface, file);
    // -r skips raw UDP mode, so everything goes through DNS (and dnsward).
    const tunnel = lab.spawn('ioclient', 'iodine', [
      '-f',
      '-r',
      '-T',
      type,
      '-P',
      'dnsward-eval',
      client.rootAddress,
      ZONE,
    ]);
    await NetnsLab.waitForOutput(tunnel, 'Connection setup complete', 30_000);
    log(`iodine -T ${type}: ${await lab.echoTransfer('ioclient', '10.53.0.1', 7777, 4096)}`);
    await capture.stop();
  } finally {
    await dw.stop();
    await lab.destroy();
  }
  return sessionFromCapture(`iodine (real, ${type})`, file);
}
