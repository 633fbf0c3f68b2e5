/** Parsing of `ADDR[:PORT]` strings, including bracketed IPv6 (`[::1]:53`). */
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
  family: 4 | 6;
}

export function parseHostPort(text: string, defaultPort: number): HostPort | string {
  let host = text.trim();
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(host) !== 6) {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      port = Number(host.slice(colon + 1));
      host = host.slice(0, colon);
    }
  }
  const family = isIP(host);
  if (family === 0) return `"${text}" is not an IP address with an optional port (use [v6]:port for IPv6)`;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `"${text}" has an invalid port`;
  return { host, port, family: family as 4 | 6 };
}

export function formatHostPort(hp: { host: string; port: number }): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/**
 * A listener referred to by its `name` or its address, as the ADDR:PORT key listeners carry;
 * undefined when `listen` has no such listener.
 */
export function findListener(
  ref: string,
  listen: ReadonlyArray<{ address: { host: string; port: number }; name?: string }>,
): string | undefined {
  const named = listen.find((l) => l.name === ref);
  if (named !== undefined) return formatHostPort(named.address);
  const parsed = parseHostPort(ref, 53);
  if (typeof parsed === 'string') return undefined;
  const key = formatHostPort(parsed);
  return listen.some((l) => formatHostPort(l.address) === key) ? key : undefined;
}

/**
 * Every listener a query can arrive on, as findListener takes them: plain DNS (`listen`, with
 * its names) and the encrypted ones (DNS over TLS and HTTPS, by address).
 */
export function allListeners(config: {
  listen: ReadonlyArray<{ address: { host: string; port: number }; name?: string }>;
  dot: ReadonlyArray<{ listen: { host: string; port: number } }>;
  doh: ReadonlyArray<{ listen: { host: string; port: number } }>;
}): Array<{ address: { host: string; port: number }; name?: string }> {
  return [
    ...config.listen,
    ...config.dot.map((l) => ({ address: l.listen })),
    ...config.doh.map((l) => ({ address: l.listen })),
  ];
}
