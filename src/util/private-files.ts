/**
 * The data directory holds password and token hashes, the audit log, learned state and every
 * logged query: only dnsward's own user may read it. The directory is 0700 and each database
 * is created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database's
 * mode), so there is no moment in which another user could open one.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Creates `dir` owner-only, or makes an existing one owner-only when this user owns it. A
 * shared directory (sticky bit, as /tmp) or one owned by someone else is left as it is:
 * tightening it would break its other users.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  const st = statSync(dir);
  const sticky = (st.mode & 0o1000) !== 0;
  const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
  if (mine && !sticky && (st.mode & 0o077) !== 0) chmodSync(dir, PRIVATE_DIR);
}

/** Makes `path` (and the SQLite files beside it) exist as owner-only files, in a private directory. */
export function ensurePrivateFile(path: string): void {
  ensurePrivateDir(dirname(path));
  closeSync(openSync(path, 'a', PRIVATE_FILE));
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(p) && (statSync(p).mode & 0o077) !== 0) chmodSync(p, PRIVATE_FILE);
  }
}
