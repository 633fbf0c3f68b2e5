/**
 * The running instance's PID, kept in its data directory so `dnsward reload` can find it. The
 * PID file is also the data directory's lock: it is created exclusively (O_EXCL), so a second
 * `dnsward serve` on the same directory stops at start instead of taking over the control
 * socket and PID file of the first (and deleting both when it exits). A file left by a process
 * that is gone (kill -9, power loss) is stale and taken over, one process at a time.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../util/private-files.js';

export class DataDirError extends Error {}

export function pidFilePath(dataDir: string): string {
  return join(dataDir, 'dnsward.pid');
}

/** Claims `dataDir` for this process; throws DataDirError when it cannot be made or a live dnsward holds it. */
export function writePidFile(dataDir: string): void {
  try {
    ensurePrivateDir(dataDir);
  } catch (err) {
    throw new DataDirError(`cannot use data directory ${dataDir}: ${(err as Error).message}`);
  }
  if (createPidFile(dataDir)) return;
  // The file exists. Taking over a stale one is check-then-replace, which is not atomic: two
  // processes that both read the same stale PID would each remove what the other just created
  // (measured: 28 of 30 racing starts "won" in 5 rounds). So takeovers are serialised by a
  // lock directory (mkdir is atomic), and the holder is read again inside it.
  const lock = `${pidFilePath(dataDir)}.takeover`;
  if (!takeLock(lock))
    throw new DataDirError(`data directory ${dataDir} is being claimed by another dnsward starting at the same time`);
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const holder = runningPid(dataDir);
      if (typeof holder === 'number' && holder !== process.pid) {
        throw new DataDirError(
          `data directory ${dataDir} is in use by another dnsward (pid ${holder}); stop it first or give this one its own --data-dir`,
        );
      }
      rmSync(pidFilePath(dataDir), { force: true });
      if (createPidFile(dataDir)) return;
    }
    throw new DataDirError(`data directory ${dataDir} is being claimed by another dnsward starting at the same time`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Creates the PID file exclusively, with its content already in it (written to a private file,
 * then linked into place: link fails when the name exists); false when it exists. An empty file
 * created first and filled after would look stale to a racing takeover, which would remove it.
 */
function createPidFile(dataDir: string): boolean {
  const path = pidFilePath(dataDir);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** A lock directory older than this was left by a process that died inside a takeover (which takes milliseconds). */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 2_000;

/** Takes the takeover lock, waiting (bounded) while another process holds it. */
function takeLock(path: string): boolean {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(path, { mode: 0o700 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_LOCK_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
    if (Date.now() > deadline) return false;
    // A synchronous pause: this runs once at start, before the event loop has work.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
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
  if (!Number.isInteger(pid) || pid <= 0) return `${pidFilePath(dataDir)} does not hold a process id`;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user; it is alive all the same.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM')
      return `the dnsward recorded in ${pidFilePath(dataDir)} (pid ${pid}) is not running`;
  }
  // After a reboot the number may belong to another program: on Linux, a process whose command
  // line is not dnsward's does not hold the directory.
  let cmdline: string | undefined;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // no /proc (not Linux): trust the number
  }
  if (cmdline !== undefined && !/dnsward|cli\/main\.js/.test(cmdline))
    return `the process recorded in ${pidFilePath(dataDir)} (pid ${pid}) is not dnsward`;
  return pid;
}
