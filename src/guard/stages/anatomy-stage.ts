/**
 * Stage 0, anatomy: the registered domain and the subdomain on the Public Suffix List (binary
 * labels kept), the domain's state record, and whether a block already stands for it.
 */
import { ID_SPACE, markActive, newDomain } from '../guard-state.js';
import { anatomize } from '../name-anatomy.js';
import { overrideFor } from '../operator-overrides.js';
import { noteSharedLabels, sharedLookups } from '../shared-labels.js';
import type { GuardContext } from '../guard-context.js';
import type { StageReport, Verdict } from '../verdict.js';
import type { GuardStage, Observation } from './observation.js';

export const anatomyStage: GuardStage = {
  name: 'anatomy',
  report(o: Observation): StageReport {
    const { anatomy } = o;
    const evidence: StageReport['evidence'] = { domain: o.domainName, subdomainBytes: anatomy.subdomainBytes };
    if (anatomy.privateSuffix) evidence.privateSuffix = anatomy.publicSuffix;
    if (anatomy.binaryLabels > 0) evidence.binaryLabels = anatomy.binaryLabels;
    return { name: 'anatomy', score: anatomy.binaryLabels > 0 ? 1 : 0, evidence };
  },
};

/** Reads the name's anatomy and counts the query on its domain's record (made when new). */
export function readAnatomy(guard: GuardContext, o: Observation): void {
  const ts = o.q.ts;
  o.anatomy = anatomize(o.lower);
  o.domainName = o.anatomy.registeredDomain;
  o.subLabels = o.q.labels.slice(0, o.anatomy.subdomainLabels.length);
  o.override = guard.overrides.length > 0 ? overrideFor(guard, o.domainName, o.q.client, ts) : undefined;
  let domain = guard.domains.get(o.domainName);
  if (domain === undefined) {
    domain = newDomain(ts, guard.nextDomainId);
    guard.nextDomainId = (guard.nextDomainId + 1) % ID_SPACE;
    guard.domains.set(o.domainName, domain);
  }
  domain.queries++;
  domain.lastSeen = ts;
  markActive(domain, ts);
  if (guard.seenUsers.addPairIfNew(o.q.client, o.domainName)) domain.users++;
  // Before any block is looked at: sharing is learned while the domain is blocked too.
  noteSharedLabels(guard.sharedLabels, domain, o.domainName, o.q.client, o.anatomy.subdomainLabels);
  o.domain = domain;
}

/**
 * The verdict when a block already stands on the domain, for everyone or for this client
 * alone (one the network shares), unless an operator allowed it; undefined otherwise.
 */
export function standingBlock(guard: GuardContext, o: Observation): Verdict | undefined {
  if (o.override !== undefined) return undefined;
  const ts = o.q.ts;
  const block = guard.blocks.peek(o.domainName);
  // A block the guard set ends once other clients are seen asking the domain's labels: the
  // budget it tripped was a lookup service's first burst (shared-labels.ts). Its offences stay.
  if (block !== undefined && block.until > ts && sharedLookups(o.domain)) {
    block.until = ts;
    guard.counters.sharedLifts++;
  }
  if (block !== undefined && block.until > ts) {
    guard.counters.blockedByDomain++;
    return blockedVerdict('domain', o, block);
  }
  const clientBlock =
    guard.clientBlocks.size > 0 ? guard.clientBlocks.peek(`${o.q.client} ${o.domainName}`) : undefined;
  if (clientBlock !== undefined && clientBlock.until > ts) {
    guard.counters.blockedByClientDomain++;
    return blockedVerdict('client-domain', o, clientBlock);
  }
  return undefined;
}

function blockedVerdict(
  scope: Verdict['scope'],
  o: Observation,
  block: { reasons: string[]; stages: StageReport[]; incident: string; leaked: number },
): Verdict {
  return {
    action: 'block',
    scope,
    domain: o.domainName,
    score: 1,
    reasons: block.reasons,
    stages: [anatomyStage.report(o), ...block.stages.slice(1)],
    incident: block.incident,
    leakedBytes: block.leaked,
    firstSeen: o.domain.firstSeen,
  };
}
