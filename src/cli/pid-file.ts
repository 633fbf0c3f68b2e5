/** The running instance's PID, kept in its data directory so `dnsward reload` can find it. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function pidFilePath(dataDir: string): string {
  return join(dataDir, 'dnsward.pid');
}

export function writePidFile(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(pidFilePath(dataDir), `${process.pid}\n`);
}

export function removePidFile(dataDir: string): void {
  try {
    const pid = Number(readFileSync(pidFilePath(dataDir), 'utf8'));
    if (pid === process.pid) rmSync(pidFilePath(dataDir));
  } catch {
    // already gone
  }
}

/** The PID of a live dnsward for `dataDir`, or a message saying why there is none. */
export function runningPid(dataDir: string): number | string {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFilePath(dataDir), 'utf8').trim());
  } catch {
    return `no dnsward is running with data directory ${dataDir} (no ${pidFilePath(dataDir)})`;
  }
  try {
    process.kill(pid, 0);
  } catch {
    return `the dnsward recorded in ${pidFilePath(dataDir)} (pid ${pid}) is not running`;
  }
  return pid;
}
