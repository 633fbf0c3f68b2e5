/**
 * A real NSD (Debian package) serving zone files authoritatively on a loopback port: the
 * reference local zones are compared against. No zone transfers, no remote control, no
 * daemonising; `minimal-responses` so the authority section holds only what RFC 1034 and
 * RFC 2308 require (the SOA of negative answers), as dnsward's local zones answer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForDns } from './dns-client.js';
import { freePort } from './ports.js';

export class NsdServer {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /** Starts nsd serving each zone (name → master file path) and waits until it answers. */
  static async start(zones: Array<{ name: string; file: string }>): Promise<NsdServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-nsd-'));
    const lines = [
      'server:',
      `  ip-address: 127.0.0.1@${port}`,
      '  do-ip6: no',
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      '  database: ""',
      `  pidfile: "${join(dir, 'nsd.pid')}"`,
      `  xfrdfile: "${join(dir, 'xfrd.state')}"`,
      `  zonelistfile: "${join(dir, 'zone.list')}"`,
      `  logfile: "${join(dir, 'nsd.log')}"`,
      '  server-count: 1',
      '  minimal-responses: yes',
      '  hide-version: yes',
      // NSD's response-rate limiting is on by default (200 a second): off, so probes are never slipped.
      '  rrl-ratelimit: 0',
      '  rrl-whitelist-ratelimit: 0',
      '  verbosity: 0',
      'remote-control:',
      '  control-enable: no',
      ...zones.flatMap((z) => ['zone:', `  name: "${z.name}"`, `  zonefile: "${z.file}"`]),
    ];
    const configPath = join(dir, 'nsd.conf');
    writeFileSync(configPath, lines.join('\n') + '\n');
    const server = new NsdServer(port, dir);
    const child = spawn('nsd', ['-d', '-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    server.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`nsd exited with ${code}: ${stderr}`))),
    );
    await Promise.race([waitForDns('127.0.0.1', port, 50), exited]);
    return server;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}
