/**
 * The embedded default forwards to the system's resolvers from /etc/resolv.conf, minus
 * addresses that would loop back to dnsward itself (loopback, or one of its own listeners).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export function nameserversFromResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const address = m[1].replace(/%.*$/, ''); // drop IPv6 zone ids
    if (isIP(address)) out.push(address);
  }
  return out;
}

export function isLoopback(address: string): boolean {
  return (
    address.startsWith('127.') ||
    address === '::1' ||
    address === '0:0:0:0:0:0:0:1' ||
    address.startsWith('::ffff:127.')
  );
}

/** Nameservers usable as upstreams: not loopback, and not an address dnsward listens on. */
export function systemUpstreams(ownAddresses: string[], path = '/etc/resolv.conf'): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const own = new Set(ownAddresses);
  return nameserversFromResolvConf(text).filter((a) => !isLoopback(a) && !own.has(a));
}
