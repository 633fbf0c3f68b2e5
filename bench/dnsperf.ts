/** What the dnsperf benchmarks share: running dnsperf, starting and stopping servers, CPU time of a process tree, the variants' extra configuration. */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { waitForDns } from '../test/helpers/dns-client.js';

const run = promisify(execFile);

export async function dnsperf(port: number, file: string, seconds: number, extra: string[]): Promise<string> {
  const { stdout } = await run(
    'dnsperf',
    ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), ...extra],
    { maxBuffer: 1 << 30, timeout: (seconds + 30) * 1000 },
  );
  return stdout;
}

export interface MaxQpsRun {
  qps: number;
  lost: number;
  /** The server's CPU time (all its threads and child processes) per completed query. */
  cpuUsPerQuery: number;
}

/** dnsperf at full speed (`-c 4 -q 500`) against the server whose pid is given. */
export async function maxQps(port: number, file: string, seconds: number, pid: number): Promise<MaxQpsRun> {
  const t0 = cpuTicks(pid);
  const out = await dnsperf(port, file, seconds, ['-c', '4', '-q', '500']);
  const ticks = cpuTicks(pid) - t0;
  const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0),
    cpuUsPerQuery: completed ? (ticks * 10_000) / completed : 0,
  };
}

export function cpuTicks(pid: number): number {
  let total = 0;
  for (const p of [pid, ...childPids(pid)]) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // process gone
    }
  }
  return total;
}

export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function startProcess(command: string, args: string[], port: number, tries = 50): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await Promise.race([
    waitForDns('127.0.0.1', port, tries),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${command} exited ${code}: ${stderr}`)))),
  ]);
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * An operator allow for `domain` on the dnsward whose data directory is `dataDir`. dnsperf asks
 * its unique miss names from one address, to one domain nobody else uses: Tunnel Guard rightly
 * reads that as a stream of new names and blocks it after some eighty, after which a miss
 * benchmark would time block answers. Allowed queries still go through every stage of the
 * detector, so its cost is still in the numbers.
 */
export function allowDomain(cli: string, dataDir: string, domain: string): void {
  execFileSync(process.execPath, [cli, 'allow', domain, '--for', '24h', '--data-dir', dataDir], {
    stdio: 'ignore',
    timeout: 30_000,
  });
}

/**
 * A variant's extra configuration: `nodefence` turns every defence default off (cookies, minimal
 * ANY, random-subdomain floods); `dynblocks` counts every client for dynamic blocks (loopback not
 * exempt) under a rule that never fires, so the counting's cost shows; `cluster` joins a Redis.
 */
export type BenchExtra = '' | 'nodefence' | 'dynblocks' | 'cluster';
export function extraConfig(extra: BenchExtra, redisPort: number | undefined): string {
  if (extra === 'nodefence')
    return 'defence: { cookies: { enabled: false }, minimalAny: false, randomSubdomain: { enabled: false } }\n';
  if (extra === 'dynblocks')
    return 'defence: { dynamicBlocks: { enabled: true, exempt: [], rules: [{ metric: queries, rate: 100000000 }] } }\n';
  if (extra === 'cluster') return `cluster: { redis: { host: "127.0.0.1:${redisPort}" }, nodeName: bench }\n`;
  return '';
}
