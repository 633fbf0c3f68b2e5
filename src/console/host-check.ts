/**
 * DNS-rebinding defence: a page on an attacker's name that resolves to the console's address
 * sends that name in Host. Only the names the console is reached by are accepted: its listen
 * address and port as written; with a loopback listener also 127.0.0.1, [::1] and localhost;
 * with a wildcard listener (0.0.0.0, ::) any IP literal (a rebinding needs a name); and the
 * operator's `console.allowedHosts` (NAME, or NAME:PORT; without a port the console's).
 */
import { isIP } from 'node:net';

const LOOPBACK_NAMES = ['127.0.0.1', '[::1]', 'localhost'];

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

/** `host:port` in one spelling (lower case, IPv6 in brackets, the default port written out). */
function normalise(hostHeader: string, defaultPort: number): string | undefined {
  const text = hostHeader.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (m === null) return undefined;
  return `${m[1]}:${m[2] ?? defaultPort}`;
}

export function hostChecker(
  listenHost: string,
  port: number,
  allowedHosts: readonly string[],
  tls: boolean,
): (hostHeader: string | undefined) => boolean {
  const defaultPort = tls ? 443 : 80;
  const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const allowed = new Set<string>([`${bracket(listenHost.toLowerCase())}:${port}`]);
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::';
  if (isLoopback(listenHost) || wildcard) for (const name of LOOPBACK_NAMES) allowed.add(`${name}:${port}`);
  for (const entry of allowedHosts) {
    const n = normalise(entry, port);
    if (n !== undefined) allowed.add(n);
  }
  return (hostHeader) => {
    if (hostHeader === undefined) return false;
    const n = normalise(hostHeader, defaultPort);
    if (n === undefined) return false;
    if (allowed.has(n)) return true;
    if (!wildcard || !n.endsWith(`:${port}`)) return false;
    const host = n.slice(0, n.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    return isIP(host) !== 0;
  };
}
