/** Runs the real `dnsward` executable (built JS) as a child process. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      timeout: 20_000,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout, stderr: e.stderr };
  }
}

export class CliServer {
  log = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
  }

  /** With `openFileLimit`, dnsward starts under that `ulimit -n` (the shell execs node: child.pid is dnsward's). */
  static start(args: string[], env: Record<string, string> = {}, options: { openFileLimit?: number } = {}): CliServer {
    // The console (on by default on 127.0.0.1:8053) stays off unless a test asks for it.
    const consoleArgs = args.includes('--console') ? [] : ['--console', 'off'];
    const argv = [CLI, 'serve', ...consoleArgs, ...args];
    const spawnOptions = {
      stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    };
    return new CliServer(
      options.openFileLimit === undefined
        ? spawn(process.execPath, argv, spawnOptions)
        : spawn(
            'sh',
            ['-c', `ulimit -n ${options.openFileLimit}; exec "$0" "$@"`, process.execPath, ...argv],
            spawnOptions,
          ),
    );
  }

  /** Waits (bounded) until the log contains `text` `count` times. */
  async waitForLog(text: string, count = 1, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.log.split(text).length - 1 < count) {
      if (Date.now() > deadline) throw new Error(`"${text}" did not appear ${count}x in the log:\n${this.log}`);
      if (this.child.exitCode !== null) throw new Error(`dnsward exited with ${this.child.exitCode}:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    return new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.kill(signal);
    });
  }
}
