/**
 * A lookup service is asked the same things by many clients: an EDR agent's servers ask its
 * vendor's cloud about the same common files (one SHA-256 in labels, whatever the engine version
 * or region labels around it), a reputation service hears the same URLs' digests. A tunnel's
 * payload labels are unique to the session that sent them: another client asking one of them
 * first asked by someone else is what a tunnel does not produce. So each long label under a
 * domain is remembered per client and per domain, in fixed memory, and a label another client
 * asked first counts on the domain (DomainState.sharedLabels). This is learned also while the
 * domain is blocked: the first server's first scan can trip a budget before any other server has
 * asked anything, and the sharing shows only in the hour after.
 */
import type { DomainState } from './guard-state.js';
import { ipBytes } from '../util/ip-bytes.js';
import { SeenNames } from './seen-names.js';

/** Labels shorter than this (words, short ids, version labels) say nothing about a shared lookup. */
const MIN_LABEL_LENGTH = 16;
/**
 * Labels other clients asked first that make the domain a lookup service many clients use: a
 * sharing seen by chance (a label of 16 or more characters two clients pick alike) stays far
 * below it. Measured on the generated EDR agent: four servers reach it within the hour after
 * the first block.
 */
export const SHARED_LABELS_MIN = 32;
/**
 * And at least this share of the long labels clients asked first: the filter's false "seen"
 * (under 0.1% at its capacity) must not make a tunnel of tens of thousands of labels a lookup
 * service. The EDR's servers ask a shared pool of common files for half their file lookups.
 */
const SHARED_LABELS_SHARE = 0.05;

/** The filter of (client, label, domain) and (label, domain) seen: 2 × 1 MiB, 2^18 keys before it rotates. */
export function newSharedLabelFilter(): SeenNames {
  return new SeenNames(23, 1 << 18);
}

/** Counts the name's long labels that another client asked first under this domain. */
export function noteSharedLabels(
  filter: SeenNames,
  domain: DomainState,
  domainName: string,
  client: string,
  subdomainLabels: readonly string[],
): void {
  let sharer: string | undefined;
  for (const label of subdomainLabels) {
    if (label.length < MIN_LABEL_LENGTH) continue;
    sharer ??= sharerOf(client);
    const key = `${label}.${domainName}`;
    // Only a client's first ask of a label counts: one client repeating itself is not sharing.
    if (!filter.addIfNew(`${sharer} ${key}`)) continue;
    domain.longLabels++;
    // A key without a space never equals a client's key (a client's address has no space).
    if (!filter.addIfNew(key)) domain.sharedLabels++;
  }
}

/**
 * Who shares: an IPv4 address, or an IPv6 address's /64. One host can take any number of
 * addresses in its own /64 (privacy addresses); asking its own labels again from another of them
 * must not look like a second client.
 */
function sharerOf(client: string): string {
  if (!client.includes(':')) return client;
  const bytes = ipBytes(client);
  return bytes === undefined ? client : `${bytes.subarray(0, 8).toString('hex')}/64`;
}

/** Whether many clients share the domain's lookups (a lookup service, not a tunnel). */
export function sharedLookups(domain: DomainState): boolean {
  return domain.sharedLabels >= SHARED_LABELS_MIN && domain.sharedLabels >= SHARED_LABELS_SHARE * domain.longLabels;
}
