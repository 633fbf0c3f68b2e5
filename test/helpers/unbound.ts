/**
 * A real unbound (Debian package) as upstream, answering only from local data:
 * `local-zone: "." refuse` makes sure it never recurses to the outside.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitForDns } from './dns-client.js';

export interface UnboundOptions {
  /** Zones served as `static` local zones, each with its SOA added automatically. */
  zones: string[];
  /** local-data lines, e.g. `www.example.test. 300 IN A 192.0.2.1`. */
  records: string[];
  port?: number;
  extra?: string[];
  /** Top-level clauses after `server:` (e.g. an `rpz:` clause), each line as written. */
  clauses?: string[];
  /** Replaces module-config "iterator" (RPZ needs "respip iterator"). */
  moduleConfig?: string;
  /**
   * Forward everything to this loopback port instead of refusing names outside local data
   * (`local-zone: "." refuse`): a forwarding unbound in front of another one, never outside.
   */
  forwardTo?: number;
  /** How long to wait for the first answer (a large RPZ zone takes a while to load). */
  startTimeoutMs?: number;
}

export class UnboundServer {
  private child: ChildProcess | null = null;
  readonly dir: string;
  readonly configPath: string;

  private constructor(
    readonly port: number,
    config: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'dnsward-unbound-'));
    this.configPath = join(this.dir, 'unbound.conf');
    writeFileSync(this.configPath, config.replaceAll('@DIR@', this.dir));
  }

  static async start(options: UnboundOptions): Promise<UnboundServer> {
    const port = options.port ?? (await freePort());
    const lines = [
      'server:',
      `  interface: 127.0.0.1@${port}`,
      `  port: ${port}`,
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      '  directory: "@DIR@"',
      '  pidfile: ""',
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      `  module-config: "${options.moduleConfig ?? 'iterator'}"`,
      '  do-ip6: no',
      '  num-threads: 1',
      '  access-control: 127.0.0.0/8 allow',
      '  minimal-responses: yes',
      ...(options.forwardTo === undefined ? ['  local-zone: "." refuse'] : ['  do-not-query-localhost: no']),
      ...options.zones.flatMap((z) => [
        `  local-zone: "${z}." static`,
        `  local-data: "${z}. 3600 IN SOA ns.${z}. hostmaster.${z}. 1 3600 600 86400 60"`,
      ]),
      ...options.records.map((r) => `  local-data: '${r}'`),
      ...(options.extra ?? []).map((l) => `  ${l}`),
      'remote-control:',
      '  control-enable: no',
      ...(options.clauses ?? []),
      ...(options.forwardTo === undefined
        ? []
        : ['forward-zone:', '  name: "."', `  forward-addr: 127.0.0.1@${options.forwardTo}`]),
    ];
    const server = new UnboundServer(port, lines.join('\n') + '\n');
    await server.resume(options.startTimeoutMs);
    return server;
  }

  /** Starts (or restarts) the unbound process and waits until it answers. */
  async resume(startTimeoutMs = 5000): Promise<void> {
    const child = spawn('unbound', ['-d', '-c', this.configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`unbound exited with ${code}: ${stderr}`))),
    );
    await Promise.race([waitForDns('127.0.0.1', this.port, Math.ceil(startTimeoutMs / 100)), exited]);
  }

  get pid(): number {
    return this.child?.pid ?? 0;
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
