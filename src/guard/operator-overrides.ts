/**
 * Operators' decisions Tunnel Guard obeys before weighing anything: allows (a domain, a client
 * range, or both, until a time; allowed queries still teach learning) and quarantines (every
 * query of a client range refused until a time). Lists, not maps: an operator makes a handful.
 */
import { type Cidr, cidrContains, parseCidr } from '../util/cidr.js';
import { anatomize } from './name-anatomy.js';
import { blockMap, blocksOn } from './domain-blocks.js';
import type { AllowOverride, Quarantine } from './guard-types.js';
import { incidentId, isoTime, lowerAscii } from './guard-text.js';
import type { GuardContext } from './guard-context.js';
import type { StageReport, Verdict } from './verdict.js';

/** A CIDR or a single address; throws a plain message on anything else. */
export function cidrList(text: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

export function overrideFor(
  guard: GuardContext,
  domain: string,
  client: string,
  ts: number,
): AllowOverride | undefined {
  return guard.overrides.find(
    (o) =>
      o.until > ts &&
      (o.domain === undefined || o.domain === domain) &&
      (o.match === undefined || cidrContains(o.match, client)),
  );
}

export function quarantineOf(guard: GuardContext, client: string, ts: number): Quarantine | undefined {
  return guard.quarantines.find((qr) => qr.until > ts && cidrContains(qr.match, client));
}

/** Adds an operator's allow; a domain allow also lifts its block. Throws on a bad CIDR. */
export function allow(guard: GuardContext, o: AllowOverride): void {
  const match = o.client === undefined ? undefined : cidrList(o.client);
  guard.overrides = guard.overrides.filter((x) => !(x.domain === o.domain && x.client === o.client));
  guard.overrides.push({ ...o, match });
  if (o.domain !== undefined && o.client === undefined)
    for (const { key, block } of blocksOn(guard, o.domain)) blockMap(guard, block).delete(key);
}

/** Removes allows for exactly this domain and client range; returns how many. */
export function disallow(guard: GuardContext, domain: string | undefined, client: string | undefined): number {
  const before = guard.overrides.length;
  guard.overrides = guard.overrides.filter((x) => !(x.domain === domain && x.client === client));
  return before - guard.overrides.length;
}

export function quarantine(guard: GuardContext, q: Omit<Quarantine, 'incident'>): Quarantine {
  const incident = incidentId(`client:${q.client}`, q.at, 0);
  const entry = { ...q, incident };
  guard.quarantines = guard.quarantines.filter((x) => x.client !== q.client);
  guard.quarantines.push({ ...entry, match: cidrList(q.client) });
  return entry;
}

export function release(guard: GuardContext, client: string): boolean {
  const before = guard.quarantines.length;
  guard.quarantines = guard.quarantines.filter((x) => x.client !== client);
  return before !== guard.quarantines.length;
}

/** Drops expired allows and quarantines (the caller's clock). */
export function expire(guard: GuardContext, now: number): void {
  guard.overrides = guard.overrides.filter((o) => o.until > now);
  guard.quarantines = guard.quarantines.filter((qr) => qr.until > now);
}

/** The verdict on a quarantined client's query: blocked by the operator, every stage says so. */
export function quarantineVerdict(labels: string[], client: string, q: Quarantine): Verdict {
  const domain = anatomize(labels.map(lowerAscii)).registeredDomain;
  const stages: StageReport[] = [
    { name: 'anatomy', score: 0, evidence: { domain } },
    { name: 'query', score: 0, evidence: {} },
    { name: 'state', score: 0, evidence: {} },
    { name: 'normal', score: 0, evidence: {} },
    { name: 'decision', score: 1, evidence: { action: 'block', scope: 'client', operator: true } },
  ];
  return {
    action: 'block',
    scope: 'client',
    domain,
    score: 1,
    reasons: [`client ${client} quarantined by ${q.by} until ${isoTime(q.until)}`],
    stages,
    incident: q.incident,
    leakedBytes: 0,
    firstSeen: 0,
  };
}
