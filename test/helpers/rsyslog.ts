/**
 * A real rsyslog (Debian's rsyslogd) receiving syslog over TCP or TLS on a loopback port and writing
 * each message, raw, to a file: the SIEM side of the syslog sink tests. Bounded waits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TlsFiles } from './certificates.js';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { connect } from 'node:net';

async function waitForTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class RsyslogServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly output: string,
    private readonly dir: string,
    private readonly tls?: TlsFiles,
  ) {}

  /** Plain TCP, or TLS (rsyslog's GnuTLS driver, anonymous clients) when `tls` is given. */
  static async start(
    port?: number,
    dir = mkdtempSync(join(tmpdir(), 'dnsward-rsyslog-')),
    tls?: TlsFiles,
  ): Promise<RsyslogServer> {
    const p = port ?? (await freePort());
    const output = join(dir, 'received.log');
    const conf = join(dir, 'rsyslog.conf');
    const driver =
      tls === undefined
        ? ''
        : `\n  defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="${tls.ca}" defaultNetstreamDriverCertFile="${tls.cert}" defaultNetstreamDriverKeyFile="${tls.key}"`;
    const tcpModule =
      tls === undefined
        ? 'module(load="imtcp")'
        : 'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")';
    writeFileSync(
      conf,
      `global(workDirectory="${dir}"${driver})
${tcpModule}
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="collect") { action(type="omfile" file="${output}" template="raw" flushOnTXEnd="on" asyncWriting="off") }
input(type="imtcp" port="${p}" address="127.0.0.1" ruleset="collect")
`,
    );
    const child = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslog.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (d) => (log += d));
    try {
      await waitForTcp('127.0.0.1', p, 10_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; rsyslogd said: ${log}`);
    }
    return new RsyslogServer(child, p, output, dir, tls);
  }

  received(): string[] {
    return existsSync(this.output)
      ? readFileSync(this.output, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
      : [];
  }

  /** Waits (bounded) until a received line matches. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.received().find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (Date.now() > deadline)
        throw new Error(
          `no syslog line matched ${pattern} within ${timeoutMs} ms; got:\n${this.received().join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }

  /** A new rsyslogd on the same port and output file, as a collector coming back. */
  restart(): Promise<RsyslogServer> {
    return RsyslogServer.start(this.port, this.dir, this.tls);
  }
}
