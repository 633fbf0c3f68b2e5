/**
 * Tunnel Guard's blocks: of a registered domain for everyone, or for one client alone (a domain
 * the network shares). A block lasts an hour, and each further offence four times longer, up
 * to a week; an operator's unblock is remembered for as long as the block could have lasted,
 * so a restore from an older snapshot does not bring it back. Bounds: MAX_BLOCKS per map,
 * MAX_UNBLOCKS remembered lifts.
 */
import type { TwoGenerationMap } from '../util/two-generation-map.js';
import type { DomainBlock } from './guard-types.js';
import { incidentId, isoTime, round } from './guard-text.js';
import type { GuardContext } from './guard-context.js';
import type { StageReport } from './verdict.js';

const SECONDS_PER_HOUR = 3600;
const FIRST_BLOCK_SECONDS = SECONDS_PER_HOUR;
const MAX_BLOCK_SECONDS = 7 * 24 * SECONDS_PER_HOUR;
export const MAX_BLOCKS = 100_000;
const MAX_UNBLOCKS = 10_000;

/** The key of a client-scoped block: an address has no space, so the first space splits it. */
export function clientBlockKey(client: string, domain: string): string {
  return `${client} ${domain}`;
}

/** The domain of a client-scoped block's key. */
export function clientBlockDomain(key: string): string {
  return key.slice(key.indexOf(' ') + 1);
}

/** The map a block lives in, by its scope (blocks from before scopes existed are domain blocks). */
export function blockMap(
  guard: GuardContext,
  block: Pick<DomainBlock, 'scope'>,
): TwoGenerationMap<string, DomainBlock> {
  return block.scope === 'client' ? guard.clientBlocks : guard.blocks;
}

/** Starts (or escalates) a block and returns it (its incident id and end among the rest). */
export function startBlock(
  guard: GuardContext,
  scope: DomainBlock['scope'],
  domain: string,
  ts: number,
  client: string,
  leaked: number,
  reasons: string[],
  stages: StageReport[],
  otherClients: number,
): DomainBlock {
  const key = scope === 'client' ? clientBlockKey(client, domain) : domain;
  const map = blockMap(guard, { scope });
  const previous = map.peek(key);
  const offenses = (previous?.offenses ?? 0) + 1;
  const seconds = Math.min(MAX_BLOCK_SECONDS, FIRST_BLOCK_SECONDS * 4 ** (offenses - 1));
  const incident = incidentId(key, ts, offenses);
  const until = ts + seconds;
  const headline =
    scope === 'client'
      ? `${domain} blocked for ${client} only until ${isoTime(until)} (incident ${incident}, offence ${offenses}): ${otherClients} other clients use it normally and keep it`
      : `domain blocked until ${isoTime(until)} (incident ${incident}, offence ${offenses})`;
  const block: DomainBlock = {
    scope,
    until,
    offenses,
    incident,
    since: ts,
    reasons: [headline, ...reasons],
    stages,
    client,
    leaked: round(leaked),
  };
  map.set(key, block);
  guard.onBlock?.(domain, block);
  return block;
}

/** Whether the name's registered domain (or any suffix of it) is under a block now, for everyone or for this client. */
export function isBlockedName(guard: GuardContext, lower: string[], ts: number, client: string): boolean {
  if (guard.blocks.size === 0 && guard.clientBlocks.size === 0) return false;
  for (let i = 0; i < lower.length; i++) {
    const suffix = lower.slice(i).join('.');
    const block = guard.blocks.peek(suffix);
    if (block !== undefined && block.until > ts) return true;
    if (guard.clientBlocks.size === 0) continue;
    const own = guard.clientBlocks.peek(clientBlockKey(client, suffix));
    if (own !== undefined && own.until > ts) return true;
  }
  return false;
}

/** The domain's block for everyone and its client-scoped blocks, with their keys (a bounded scan). */
export function blocksOn(guard: GuardContext, domain: string): Array<{ key: string; block: DomainBlock }> {
  const out: Array<{ key: string; block: DomainBlock }> = [];
  const block = guard.blocks.peek(domain);
  if (block !== undefined) out.push({ key: domain, block });
  if (guard.clientBlocks.size > 0)
    for (const [key, b] of guard.clientBlocks.entries())
      if (clientBlockDomain(key) === domain) out.push({ key, block: b });
  return out;
}

/** Remembers an operator's unblock while the block it lifted could still be in force (bounded). */
export function noteUnblock(guard: GuardContext, key: string, incident: string, at: number): void {
  guard.unblocked.delete(key);
  guard.unblocked.set(key, { incident, at });
  for (const [k, u] of guard.unblocked) {
    if (guard.unblocked.size <= MAX_UNBLOCKS && u.at > at - MAX_BLOCK_SECONDS) break;
    guard.unblocked.delete(k);
  }
}

/** Blocks in force, for everyone and client-scoped. */
export function activeBlocks(guard: GuardContext, now: number): Array<{ domain: string } & DomainBlock> {
  const out: Array<{ domain: string } & DomainBlock> = [];
  for (const [domain, block] of guard.blocks.entries())
    if (block.until > now) out.push({ domain, ...block, scope: 'domain' });
  for (const [key, block] of guard.clientBlocks.entries())
    if (block.until > now) out.push({ domain: clientBlockDomain(key), ...block });
  return out;
}
