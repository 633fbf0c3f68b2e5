/**
 * A client's role, learned from its own traffic: a laptop asks protocol records (DKIM, DMARC,
 * SPF, SRV, …) of a few domains among thousands; a mail gateway asks DKIM, DMARC and SPF of
 * thousands of senders a day, and DNSBLs and URIBLs with them. No list of providers or
 * selectors: only how many domains' protocol records the client asks, against all it asks.
 */
import { type ClientState, recentDomains } from './guard-state.js';

/**
 * Past ROLE_FREE_DOMAINS such domains, each ROLE_DOMAINS_PER_STEP more raise the client's hour
 * and day budgets, and its total across domains, by one step, up to ROLE_CAP times, when the
 * name judged is itself a protocol record. The minute budget never grows: a bulk tunnel on a
 * mail gateway is cut as fast as anywhere, and its plain names meet plain budgets.
 */
const ROLE_MIN_DOMAINS = 16;
const ROLE_FREE_DOMAINS = 64;
const ROLE_DOMAINS_PER_STEP = 64;
const ROLE_CAP = 16;

/**
 * Whether a client's role is checking mail: it asked protocol records of at least
 * ROLE_MIN_DOMAINS registered domains, and of at least half the domains it asks at all.
 */
export function checksMail(client: ClientState | undefined): boolean {
  return (
    client !== undefined && client.serviceDomains >= ROLE_MIN_DOMAINS && client.serviceDomains * 2 >= client.domains
  );
}

/** How far a client's role (protocol records of many domains) raises its hour and day budgets. */
export function roleFactor(client: ClientState): number {
  if (!checksMail(client) || client.serviceDomains <= ROLE_FREE_DOMAINS) return 1;
  return Math.min(ROLE_CAP, 1 + (client.serviceDomains - ROLE_FREE_DOMAINS) / ROLE_DOMAINS_PER_STEP);
}

/**
 * A client that resolves for many people (a web proxy, a NAT'd guest network's resolver) asks
 * names under registered domains at a rate no one person reaches: the generated office's busiest
 * desktop asked 2,227 registered domains in a day (93 an hour), a web proxy for a few thousand
 * users over a hundred in its first two minutes. From RESOLVER_MIN_DOMAINS on, at a rate of at
 * least RESOLVER_DOMAINS_PER_HOUR (counted over its age, at least RESOLVER_MIN_AGE and at most a
 * day, so a resolver keeps its role through quiet nights), the client is taken for many users.
 * The domains counted are the recent ones (a week's decay, guard-state.ts): a desktop meeting
 * 200 new registered domains a day would otherwise pass 9,216 in its seventh week and become a
 * "resolver" with budgets hundreds of times a person's; with the decay it levels off at 1,400.
 * Then:
 * each RESOLVER_DOMAINS_PER_STEP domains it has asked raise its hour and day budgets by one step,
 * up to RESOLVER_HOUR_CAP and RESOLVER_CAP times (measured: a cloud provider's names from the
 * proxy filled 12 KB of one day window within five hours), and its total across domains is not weighed (many people's encoded
 * names across thousands of domains add up past any one person's total; measured: 2.5 KB within
 * 23 minutes, 12.9 KB within three hours). The minute budget, the one-query rule and the beacon
 * rule stay as for anyone.
 */
const RESOLVER_MIN_DOMAINS = 128;
const RESOLVER_DOMAINS_PER_HOUR = 384;
const RESOLVER_MIN_AGE = 600;
const RESOLVER_DOMAINS_PER_STEP = 64;
const RESOLVER_CAP = 256;
/** The hour budget grows at most this far: a resolver's busiest hour is a fraction of its day. */
export const RESOLVER_HOUR_CAP = 64;

/** Whether a client's breadth says it resolves for many people. */
export function resolvesForMany(client: ClientState | undefined, ts: number): boolean {
  return client !== undefined && resolvesForManyWith(client, recentDomains(client, ts), ts);
}

function resolvesForManyWith(client: ClientState, recent: number, ts: number): boolean {
  if (recent < RESOLVER_MIN_DOMAINS) return false;
  const age = Math.min(86400, Math.max(RESOLVER_MIN_AGE, ts - client.firstSeen));
  return (recent * 3600) / age >= RESOLVER_DOMAINS_PER_HOUR;
}

/** How far a client resolving for many raises its hour and day budgets (1: not such a client). */
export function resolverFactor(client: ClientState, ts: number): number {
  // The decayed count once: this runs for every new name.
  const recent = recentDomains(client, ts);
  return resolvesForManyWith(client, recent, ts) ? Math.min(RESOLVER_CAP, recent / RESOLVER_DOMAINS_PER_STEP) : 1;
}
