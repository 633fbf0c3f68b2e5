/**
 * Policy answers for names and answer addresses, made the same way in any thread: the
 * shared-feeds tests compare a worker thread's answers with the main thread's over the same feeds.
 */
import { nameToWire } from '../../src/dns/name.js';
import type { FeedSource } from '../../src/policy/feed-manager.js';
import type { PolicyDecision, PolicyEngine } from '../../src/policy/policy-engine.js';
import { ipBytes } from '../../src/util/ip-bytes.js';

export interface PolicyAsk {
  clients: string[];
  names: string[];
  /** Addresses in an answer (rpz-ip rules). */
  addresses: string[];
}

function show(d: PolicyDecision | null): string {
  return d === null ? 'pass' : `${d.action} by ${d.feed} (${d.version}) "${d.rule}"`;
}

/** One line per client and name, then per client and answer address. */
export function policyAnswers(engine: PolicyEngine, ask: PolicyAsk): string[] {
  const out: string[] = [];
  for (const client of ask.clients) {
    const group = engine.groupOf(client);
    for (const name of ask.names)
      out.push(`${client} ${name}: ${show(engine.decideBytes(nameToWire(name), 0, group, ipBytes(client)))}`);
    for (const address of ask.addresses)
      out.push(
        `${client} answer ${address}: ${show(engine.decideAddress(ipBytes(address)!, nameToWire('answer.example'), 0, group))}`,
      );
  }
  return out;
}

export interface TableFacts {
  version: string;
  slotsShared: boolean;
  filterShared: boolean;
  slotsBytes: number;
  filterBytes: number;
}

/** Each loaded feed's table: whether its arrays are in shared memory, and their sizes. */
export function tableFacts(source: FeedSource): Record<string, TableFacts> {
  const out: Record<string, TableFacts> = {};
  for (const [name, f] of source.feeds) {
    if (f.rules === null) continue;
    const { slots, filter } = f.rules.data;
    out[name] = {
      version: f.version,
      slotsShared: slots.buffer instanceof SharedArrayBuffer,
      filterShared: filter.buffer instanceof SharedArrayBuffer,
      slotsBytes: slots.byteLength,
      filterBytes: filter.byteLength,
    };
  }
  return out;
}
