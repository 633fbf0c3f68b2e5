/**
 * Tunnel Guard inline, end to end, with real tunnels: `dnsward serve` (the real executable) is
 * the resolver of a client network namespace, forwards the tunnel zone to a real dns2tcpd or
 * iodined in another namespace and everything else to a local unbound. With blocking on, the
 * tunnel is cut within 10 queries (counted by tcpdump on the tunnel server's link), benign
 * lookups from the same client go on, `dnsward blocks` shows the block with its trace, the
 * block and the learning survive a restart and a kill -9, and `dnsward allow` lets the tunnel
 * through again. A soak run keeps dnsperf's benign load whole while a tunnel is cut.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { readDnsMessage } from '../../src/dns/message-summary.js';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { CliServer, runCli } from '../helpers/cli.js';
import { dns2tcpEcho, dns2tcpEchoPasses, startDns2tcpServer } from '../helpers/dns2tcp.js';
import { NetnsLab } from '../helpers/netns.js';
import { PacketCapture } from '../helpers/tcpdump.js';
import { UnboundServer } from '../helpers/unbound.js';

const ZONE = 'tunnel.test';
const run = promisify(execFile);

/** Tunnel-zone queries that reached the tunnel server, from a capture on its link. */
function tunnelQueriesIn(file: string): number {
  return readCapture(readFileSync(file)).messages.filter((m) => {
    const d = readDnsMessage(m.message);
    return typeof d !== 'string' && !d.response && d.labels.join('.').toLowerCase().endsWith(ZONE);
  }).length;
}

describe('Tunnel Guard inline against a real dns2tcp tunnel', () => {
  let lab: NetnsLab;
  let unbound: UnboundServer;
  let dnsward: CliServer | undefined;
  let dir: string;
  let dataDir: string;
  let configPath: string;

  const startDnsward = async (mode: string) => {
    dnsward = CliServer.start(['--config', configPath, '--guard', mode]);
    await dnsward.waitForLog('dnsward started');
  };
  const dig = async (name: string, type = 'A') => {
    const client = lab.ns('client');
    const { stdout } = await run(
      'ip',
      ['netns', 'exec', client.name, 'dig', `@${client.rootAddress}`, '+tries=1', '+time=3', name, type],
      { timeout: 10_000 },
    );
    return stdout;
  };
  const tunnelTransfer = (port: number) => dns2tcpEcho(lab, ZONE, port);
  const tunnelPasses = (port: number) => dns2tcpEchoPasses(lab, ZONE, port);

  before(async () => {
    lab = NetnsLab.create(['client', 'server']);
    const client = lab.ns('client');
    const server = lab.ns('server');
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: [
        'www.example.test. 300 IN A 192.0.2.10',
        ...Array.from({ length: 50 }, (_, i) => `host${i}.example.test. 300 IN A 192.0.2.${i + 20}`),
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'dnsward-guard-inline-'));
    dataDir = join(dir, 'var');
    configPath = join(dir, 'dnsward.yaml');
    writeFileSync(
      configPath,
      `listen: ["${client.rootAddress}:53"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
forwardZones:
  - zone: ${ZONE}
    servers: ["${server.address}:53"]
dataDir: ${dataDir}
guard: { snapshotInterval: 1s }
threads: 2
`,
    );
    await startDns2tcpServer(lab, dir, ZONE);
  });

  after(async () => {
    await dnsward?.stop();
    await unbound?.stop();
    await lab?.destroy();
  });

  it('lets the tunnel work in monitor mode, and says it would block it', async () => {
    await startDnsward('monitor');
    assert.equal(await tunnelPasses(4441), 'echo intact');
    await dnsward!.waitForLog('would block (monitor mode)');
    await dnsward!.stop();
  });

  it('cuts the tunnel within 10 queries with blocking on, while benign lookups from the same client work', async () => {
    // A fresh data dir: what monitor mode learned (and would have blocked) starts over.
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace(dataDir, (dataDir = join(dir, 'var-block'))));
    await startDnsward('block');
    const capture = await PacketCapture.start(lab.ns('server').rootInterface, join(dir, 'server-link.pcap'));
    const result = await tunnelTransfer(4442);
    await capture.stop();
    assert.notEqual(result, 'echo intact', 'the transfer must fail');
    const reached = tunnelQueriesIn(join(dir, 'server-link.pcap'));
    assert.ok(reached >= 1 && reached <= 10, `${reached} tunnel queries reached the tunnel server`);
    assert.match(await dig('www.example.test'), /192\.0\.2\.10/);
    const blocked = await dig(`probe${Date.now()}.${ZONE}`, 'TXT');
    assert.match(blocked, /status: NXDOMAIN/);
    assert.match(blocked, /EDE: 15 \(Blocked\).*Tunnel Guard.*incident TG-[0-9a-f]{8}/);
  });

  it('shows the block and its stage trace in dnsward blocks', async () => {
    const { code, stdout, stderr } = await runCli(['blocks', '--data-dir', dataDir]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`${ZONE.replace('.', '\\.')}  incident TG-[0-9a-f]{8}, offence 1`));
    assert.match(stdout, /why: .*encoded information/);
    for (const stage of ['anatomy', 'query', 'state', 'normal'])
      assert.match(stdout, new RegExp(`^\\s+${stage}\\s+\\d\\.\\d\\d`, 'm'));
  });

  it('keeps the block and what it learned across a restart and a kill -9', async () => {
    await dnsward!.stop();
    await startDnsward('block');
    await dnsward!.waitForLog('Tunnel Guard state restored');
    assert.match(await dig(`again${Date.now()}.${ZONE}`, 'TXT'), /EDE: 15 \(Blocked\)/);
    await new Promise((r) => setTimeout(r, 1500)); // one periodic snapshot
    await dnsward!.stop('SIGKILL');
    await startDnsward('block');
    await dnsward!.waitForLog('Tunnel Guard state restored');
    const restored = /"domains":(\d+)/.exec(dnsward!.log);
    assert.ok(restored && Number(restored[1]) > 1, 'learned domains are back');
    assert.match(await dig(`after-kill${Date.now()}.${ZONE}`, 'TXT'), /EDE: 15 \(Blocked\)/);
  });

  it('lets the tunnel through again when an operator allows it, and logs who did', async () => {
    const allow = await runCli(['allow', ZONE, '--for', '10m', '--data-dir', dataDir]);
    assert.equal(allow.code, 0, allow.stderr);
    assert.match(allow.stdout, /allowed tunnel\.test until/);
    assert.equal(await tunnelPasses(4443), 'echo intact');
    await dnsward!.waitForLog('operator change');
    const { stdout } = await runCli(['blocks', '--data-dir', dataDir]);
    assert.match(stdout, /Allowed \(1\):\n\s+tunnel\.test until .* \(by \S+ \(uid \d+\)\)/);
    assert.match(stdout, /Latest operator changes:\n.* allow tunnel\.test/);
    const unblock = await runCli(['unblock', 'nothing-blocked.example', '--data-dir', dataDir]);
    assert.equal(unblock.code, 1);
    assert.match(unblock.stderr, /nothing-blocked\.example is not blocked/);
  });

  it('quarantines a client: every query refused, with the reason', async () => {
    const client = lab.ns('client').address;
    const q = await runCli(['quarantine', client, '--for', '5m', '--data-dir', dataDir]);
    assert.equal(q.code, 0, q.stderr);
    const answer = await dig('www.example.test');
    assert.match(answer, /status: REFUSED/);
    assert.match(answer, /quarantined/);
    assert.equal((await runCli(['quarantine', '--release', client, '--data-dir', dataDir])).code, 0);
    assert.match(await dig('www.example.test'), /192\.0\.2\.10/);
  });

  it('soak: dnsperf benign load loses nothing while a new tunnel is cut', async () => {
    await runCli(['unblock', ZONE, '--data-dir', dataDir]).catch(() => undefined);
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace(dataDir, (dataDir = join(dir, 'var-soak'))));
    await dnsward!.stop();
    await startDnsward('block');
    const queries = join(dir, 'benign.txt');
    writeFileSync(queries, Array.from({ length: 50 }, (_, i) => `host${i}.example.test A`).join('\n') + '\n');
    const perf = run(
      'dnsperf',
      ['-s', lab.ns('client').rootAddress, '-d', queries, '-l', '8', '-Q', '2000', '-t', '2'],
      { timeout: 30_000 },
    );
    const tunnel = await tunnelTransfer(4444);
    const { stdout } = await perf;
    assert.notEqual(tunnel, 'echo intact');
    const lost = /Queries lost:\s+(\d+)/.exec(stdout);
    const completed = /Queries completed:\s+(\d+)/.exec(stdout);
    assert.ok(lost && completed, stdout);
    assert.equal(Number(lost[1]), 0, stdout);
    assert.ok(Number(completed[1]) > 10_000, stdout);
  });
});
