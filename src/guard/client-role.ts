/**
 * A client's role, learned from its own traffic: a laptop asks protocol records (DKIM, DMARC,
 * SPF, SRV, …) of a few domains among thousands; a mail gateway asks DKIM, DMARC and SPF of
 * thousands of senders a day, and DNSBLs and URIBLs with them. No list of providers or
 * selectors: only how many domains' protocol records the client asks, against all it asks.
 */
import type { ClientState } from './guard-state.js';

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
  return client !== undefined && client.serviceDomains >= ROLE_MIN_DOMAINS && client.serviceDomains * 2 >= client.domains;
}

/** How far a client's role (protocol records of many domains) raises its hour and day budgets. */
export function roleFactor(client: ClientState): number {
  if (!checksMail(client) || client.serviceDomains <= ROLE_FREE_DOMAINS) return 1;
  return Math.min(ROLE_CAP, 1 + (client.serviceDomains - ROLE_FREE_DOMAINS) / ROLE_DOMAINS_PER_STEP);
}
