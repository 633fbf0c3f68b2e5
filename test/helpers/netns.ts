/**
 * Network namespaces made by the test itself (`ip netns` + veth), so real DNS tools that insist
 * on port 53 or on their own network (dns2tcp, iodine) can run without touching any outside
 * network. Each lab is a set of namespaces, each linked to the root namespace by a veth pair
 * on its own /24 in 10.x (root side .1, namespace side .2). Needs root.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface Namespace {
  name: string;
  /** The veth end left in the root namespace. */
  rootInterface: string;
  /** The namespace's address on its link. */
  address: string;
  /** The root namespace's address on the same link. */
  rootAddress: string;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class NetnsLab {
  readonly namespaces: Namespace[] = [];
  private readonly children: ChildProcess[] = [];

  private constructor(private readonly prefix: string) {}

  /** Creates one namespace per role, e.g. ['client', 'server']. */
  static create(roles: string[]): NetnsLab {
    const id = (process.pid % 200) + 20;
    const lab = new NetnsLab(`dw${process.pid.toString(36)}`);
    roles.forEach((role, i) => {
      const name = `${lab.prefix}-${role}`;
      const subnet = `10.${id}.${i + 1}`;
      const rootIf = `${lab.prefix}r${i}`;
      const nsIf = `${lab.prefix}n${i}`;
      ip('netns', 'add', name);
      lab.namespaces.push({ name, rootInterface: rootIf, address: `${subnet}.2`, rootAddress: `${subnet}.1` });
      ip('link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nsIf);
      ip('link', 'set', nsIf, 'netns', name);
      ip('addr', 'add', `${subnet}.1/24`, 'dev', rootIf);
      ip('link', 'set', rootIf, 'up');
      ip('-n', name, 'addr', 'add', `${subnet}.2/24`, 'dev', nsIf);
      ip('-n', name, 'link', 'set', nsIf, 'up');
      ip('-n', name, 'link', 'set', 'lo', 'up');
    });
    return lab;
  }

  ns(role: string): Namespace {
    const found = this.namespaces.find((n) => n.name === `${this.prefix}-${role}`);
    if (!found) throw new Error(`no namespace for role ${role}`);
    return found;
  }

  /** Starts a long-running command inside a namespace; it is killed by destroy(). */
  spawn(role: string, command: string, args: string[]): ChildProcess & { output: () => string } {
    const child = spawn('ip', ['netns', 'exec', this.ns(role).name, command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    this.children.push(child);
    return Object.assign(child, { output: () => output });
  }

  /** A TCP echo server inside a namespace (the far end of a tunnel). */
  async startEchoServer(role: string, host: string, port: number): Promise<void> {
    const echo = this.spawn(role, process.execPath, [
      '-e',
      `require('net').createServer((s) => s.pipe(s)).listen(${port}, '${host}', () => console.log('echo ready'))`,
    ]);
    await NetnsLab.waitForOutput(echo, 'echo ready');
  }

  /**
   * Sends `bytes` random bytes to an echo server from inside a namespace and reads them back
   * (at most 30 s). Resolves with 'echo intact', 'echo corrupted', 'echo incomplete: N' or
   * 'echo error …'.
   */
  async echoTransfer(role: string, host: string, port: number, bytes: number): Promise<string> {
    const transfer = this.spawn(role, process.execPath, [
      '-e',
      `
      const data = require('crypto').randomBytes(${bytes});
      let got = Buffer.alloc(0);
      const s = require('net').connect(${port}, '${host}', () => s.write(data));
      s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= data.length) { console.log(got.equals(data) ? 'echo intact' : 'echo corrupted'); process.exit(0); } });
      s.on('error', (e) => { console.log('echo error ' + e.message); process.exit(1); });
      setTimeout(() => { console.log('echo incomplete: ' + got.length); process.exit(1); }, 30000);
    `,
    ]);
    await NetnsLab.waitForOutput(transfer, 'echo', 35_000);
    return transfer.output().trim();
  }

  /** Waits (bounded) until a spawned process prints `text`. */
  static async waitForOutput(
    child: { output: () => string; exitCode: number | null },
    text: string,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!child.output().includes(text)) {
      if (child.exitCode !== null)
        throw new Error(`exited (${child.exitCode}) before printing "${text}":\n${child.output()}`);
      if (Date.now() > deadline) throw new Error(`"${text}" not printed within ${timeoutMs} ms:\n${child.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async destroy(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    for (const n of this.namespaces) {
      try {
        // Anything still running in the namespace would keep it (and its veth) alive.
        const pids = execFileSync('ip', ['netns', 'pids', n.name], { encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // namespace already gone
      }
      try {
        // Deleting the root end removes the pair at once; a deleted namespace can linger.
        ip('link', 'del', n.rootInterface);
      } catch {
        // already gone
      }
      try {
        ip('netns', 'del', n.name);
      } catch {
        // already gone
      }
    }
  }
}
