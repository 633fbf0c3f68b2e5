/** What the cluster tests ask of running nodes: wait for a condition, send a tunnel until it is cut, see a block. */
import { randomBytes } from 'node:crypto';
import { dig, udpExchange } from './dns-client.js';
import type { RunningDnsward } from './dnsward.js';
import { encodeQuery } from './packets.js';

/** Polls (every `everyMs`, at most `ms`) until `check` holds; how long it took, or -1. */
export async function within(ms: number, check: () => Promise<boolean> | boolean, everyMs = 25): Promise<number> {
  const started = Date.now();
  do {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, everyMs));
  } while (Date.now() - started <= ms);
  return -1;
}

/** Whether a node answers `name` as a Tunnel Guard block or quarantine (its EDE text says so). */
export async function blocked(node: RunningDnsward, name: string, source?: string): Promise<boolean> {
  const r = await dig('127.0.0.1', node.port, [...(source === undefined ? [] : ['-b', source]), name, 'A']);
  return r.raw.includes('Tunnel Guard');
}

/** Sends tunnel-shaped TXT queries to a node until it answers one with a block (at most 60); how many were sent, or -1. */
export async function tunnelUntilBlocked(node: RunningDnsward, zone: string): Promise<number> {
  for (let i = 0; i < 60; i++) {
    const name = `${randomBytes(25).toString('hex').slice(0, 40)}.${randomBytes(15).toString('hex').slice(0, 24)}.${zone}`;
    const reply = await udpExchange(
      '127.0.0.1',
      node.port,
      encodeQuery(name, 'TXT', { edns: true, id: randomBytes(2).readUInt16BE() }),
      2000,
    );
    if (reply !== null && reply.toString('latin1').includes('Tunnel Guard')) return i + 1;
  }
  return -1;
}
