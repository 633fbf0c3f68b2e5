/**
 * A real redis-server (Debian package) on a loopback port, in a temporary directory, with no
 * persistence (`--save '' --appendonly no`): a restart after kill() comes back empty, as a Redis
 * that lost its data would. Optionally with a password (AUTH), TLS only (its port speaks TLS,
 * clients are not asked for certificates), or as a Sentinel watching another one.
 */
export interface RedisOptions {
  password?: string;
  tls?: { cert: string; key: string };
  /** Run as a Sentinel watching this master, under the name `dnsward` (quorum 1). */
  sentinelFor?: number;
  /** With sentinelFor: how long the master may be silent before it is down (ms; Redis's default is 30 s). */
  downAfterMs?: number;
  /** Start as a replica of the Redis on this port. */
  replicaOf?: number;
  /** Start as a Redis Cluster node (its slots are assigned by `redis-cli --cluster create`). */
  cluster?: boolean;
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export class RedisServer {
  private child: ChildProcess | null = null;
  readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: RedisOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'dnsward-redis-'));
  }

  static async start(options: RedisOptions = {}): Promise<RedisServer> {
    let port = await freePort();
    // A cluster node also listens on its port + 10000 (the cluster bus): keep that a valid port.
    for (let i = 0; i < 100 && options.cluster === true && port > 55_000; i++) port = await freePort();
    const server = new RedisServer(port, options);
    await server.resume();
    return server;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts) redis-server and waits (bounded) until it answers PING. */
  async resume(timeoutMs = 5000): Promise<void> {
    const o = this.options;
    const args: string[] = [];
    if (o.sentinelFor !== undefined) {
      // A Sentinel rewrites its configuration file: it gets one of its own in the directory.
      const conf = join(this.dir, 'sentinel.conf');
      const down =
        o.downAfterMs === undefined
          ? ''
          : `sentinel down-after-milliseconds dnsward ${o.downAfterMs}\nsentinel failover-timeout dnsward ${Math.max(1000, o.downAfterMs * 2)}\n`;
      writeFileSync(
        conf,
        `port ${this.port}\nbind 127.0.0.1\ndir ${this.dir}\nsentinel monitor dnsward 127.0.0.1 ${o.sentinelFor} 1\n${down}`,
      );
      args.push(conf, '--sentinel');
    } else {
      args.push(
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      );
      args.push(
        ...(o.tls === undefined
          ? ['--port', String(this.port)]
          : [
              '--port',
              '0',
              '--tls-port',
              String(this.port),
              '--tls-cert-file',
              o.tls.cert,
              '--tls-key-file',
              o.tls.key,
              '--tls-auth-clients',
              'no',
            ]),
      );
      if (o.password !== undefined) args.push('--requirepass', o.password);
      if (o.replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(o.replicaOf));
      if (o.cluster === true)
        args.push(
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(this.dir, 'nodes.conf'),
          '--cluster-node-timeout',
          '2000',
        );
    }
    args.push('--daemonize', 'no', '--loglevel', 'warning');
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    while (!(await this.answers())) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline)
        throw new Error(`redis-server did not answer on ${this.port} within ${timeoutMs} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Whether it answers PING (or asks for AUTH: it is up). */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket =
        this.options.tls === undefined
          ? net.connect(this.port, '127.0.0.1')
          : tls.connect({ port: this.port, host: '127.0.0.1', rejectUnauthorized: false });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(500, () => done(false));
      socket.once('error', () => done(false));
      socket.once('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
      socket.write('PING\r\n');
    });
  }

  /** SIGKILL: no goodbye to its clients, as when the machine dies. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}
