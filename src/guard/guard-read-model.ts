/**
 * What Tunnel Guard knows, as the console and operators read it: a domain, a client, a search,
 * the recognised encoders. Reads state only, never changes it.
 */
import { round } from './guard-text.js';
import { normalOf, windowBudget } from './stages/normal-stage.js';
import type { GuardContext } from './guard-context.js';

/** Undefined when the guard has not seen the domain. */
export function describeDomain(guard: GuardContext, domainName: string, now: number) {
  const domain = guard.domains.peek(domainName);
  if (domain === undefined) return undefined;
  const n = normalOf(domainName, domain, now);
  const block = guard.blocks.peek(domainName);
  return {
    domain: domainName,
    firstSeen: domain.firstSeen,
    lastSeen: domain.lastSeen,
    queries: domain.queries,
    uniqueNames: domain.uniqueNames,
    clients: domain.clients,
    users: domain.users,
    rareQtypes: domain.rareQtypes,
    nxdomainRatio: domain.responses > 0 ? round(domain.nxdomain / domain.responses) : 0,
    downstreamBytes: round(domain.downstream),
    templateStability: round(domain.templateStability),
    activeHours: n.hours,
    leakedBytes: round(domain.leaked),
    samples: domain.samples.slice(),
    knownEncoder: n.known ?? null,
    recognisedEncoder: n.recognised,
    established: n.established,
    stableTemplate: n.stableTemplate,
    encoderMultiplier: round(n.multiplier),
    /** Bytes of encoded information one client may send per minute / hour / day before a block. */
    budgetBytes: [0, 1, 2].map((w) => {
      const b = windowBudget(guard, w, n.multiplier, n.recognised);
      return Number.isFinite(b) ? round(b) : null;
    }),
    block:
      block !== undefined && block.until > now
        ? { incident: block.incident, since: block.since, until: block.until, offenses: block.offenses }
        : null,
  };
}

/** Registered domains whose name contains `text`, busiest first (bounded scan). */
export function searchDomains(guard: GuardContext, text: string, limit: number, now: number) {
  const needle = text.toLowerCase();
  const found: Array<{
    domain: string;
    queries: number;
    clients: number;
    lastSeen: number;
    leakedBytes: number;
    blocked: boolean;
  }> = [];
  const listed = new Set<string>();
  let scanned = 0;
  for (const [name, d] of guard.domains.entries()) {
    if (++scanned > 200_000) break;
    if ((needle !== '' && !name.includes(needle)) || listed.has(name)) continue;
    listed.add(name);
    const block = guard.blocks.peek(name);
    found.push({
      domain: name,
      queries: d.queries,
      clients: d.clients,
      lastSeen: d.lastSeen,
      leakedBytes: round(d.leaked),
      blocked: block !== undefined && block.until > now,
    });
  }
  return found.sort((a, b) => b.queries - a.queries).slice(0, limit);
}

/** A client's state: when first seen, how many domains, encoded bytes in the windows, quarantine. */
export function describeClient(guard: GuardContext, client: string, now: number) {
  const c = guard.clients.peek(client);
  const quarantine = guard.quarantines.find((q) => q.client === client && q.until > now);
  if (c === undefined && quarantine === undefined) return undefined;
  return {
    client,
    firstSeen: c?.firstSeen ?? null,
    domains: c?.domains ?? 0,
    leakedBytes: round(c?.leaked ?? 0),
    encodedBytes: c ? { minute: round(c.info[0]), hour: round(c.info[1]), day: round(c.info[2]) } : null,
    quarantine: quarantine ? { until: quarantine.until, by: quarantine.by, incident: quarantine.incident } : null,
  };
}

/** Legitimate heavy encoders the network has shown (many clients, one stable template) or the documented list holds. */
export function recognisedEncoders(guard: GuardContext, now: number, limit = 100) {
  const out: Array<{ domain: string; clients: number; uniqueNames: number; known: string | null; multiplier: number }> =
    [];
  for (const [name, d] of guard.domains.entries()) {
    const n = normalOf(name, d, now);
    if (!n.recognised) continue;
    out.push({
      domain: name,
      clients: d.clients,
      uniqueNames: d.uniqueNames,
      known: n.known ?? null,
      multiplier: round(n.multiplier),
    });
    if (out.length >= limit) break;
  }
  return out;
}
