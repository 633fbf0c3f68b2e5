/**
 * A real packet capture with Debian's tcpdump, written to a pcap file, for tests that analyse
 * what went over the wire (and for `npm run eval`). Bounded: start waits at most 10 s for
 * tcpdump to listen, stop at most 5 s for it to flush and exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export class PacketCapture {
  private constructor(
    private readonly child: ChildProcess,
    readonly file: string,
  ) {}

  /** Captures DNS (port 53) on `iface` into `file`; `netns` runs tcpdump inside a namespace. */
  static async start(iface: string, file: string, netns?: string): Promise<PacketCapture> {
    // -Z root: tcpdump would otherwise drop to its own user before writing into a root-only temp dir.
    // --immediate-mode: without it libpcap hands packets over in blocks, and a block still filling
    // when tcpdump is stopped is lost.
    const args = ['-Z', 'root', '--immediate-mode', '-i', iface, '-w', file, '-U', '-n', '-s', '0', 'port', '53'];
    const child =
      netns === undefined
        ? spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn('ip', ['netns', 'exec', netns, 'tcpdump', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!stderr.includes('listening on')) {
      if (child.exitCode !== null) throw new Error(`tcpdump exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`tcpdump did not start within 10 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return new PacketCapture(child, file);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
