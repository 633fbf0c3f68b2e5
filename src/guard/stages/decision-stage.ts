/**
 * Stage 4, decision: allow, monitor or block, for the query, for this client on the domain, or
 * for the whole registered domain. An operator's allow wins; a domain many other clients use
 * (or the victim of a random-subdomain flood) is taken from the offending client only.
 */
import { startBlock } from '../domain-blocks.js';
import { incidentId, isoTime, round } from '../guard-text.js';
import { presentName } from '../../dns/name.js';
import type { GuardContext } from '../guard-context.js';
import type { StageReport } from '../verdict.js';
import { anatomyStage } from './anatomy-stage.js';
import { normalStage } from './normal-stage.js';
import type { GuardStage, Observation } from './observation.js';
import { queryStage } from './query-stage.js';
import { stateStage } from './state-stage.js';

/**
 * A domain this many other clients have used is the network's, not a tunnel's: a client that
 * trips a budget on it loses the domain itself (a client-scoped block), the others keep it.
 */
const SHARED_DOMAIN_OTHER_CLIENTS = 5;
/** Names kept per domain as evidence for the analyst. */
const MAX_SAMPLES = 5;

export const decisionStage: GuardStage = {
  name: 'decision',
  report(o: Observation): StageReport {
    const evidence: StageReport['evidence'] = { action: o.action, scope: o.scope, leakedBytes: round(o.leaked) };
    if (o.samples !== undefined) evidence.samples = o.samples;
    if (o.incident !== undefined) evidence.incident = o.incident;
    // The block's end, as data: the console's timeline and a SIEM need not parse it from the headline.
    if (o.blockedUntil !== undefined) evidence.blockedUntil = o.blockedUntil;
    return { name: 'decision', score: round(o.score), evidence };
  },
};

export function decide(guard: GuardContext, o: Observation): void {
  const { q, domain, pair, reasons, ratio, excessBytes, override, domainName } = o;
  const ts = q.ts;
  const { multiplier, established } = o.normal;
  o.queryTooBig = excessBytes >= guard.queryBudget * guard.scale && multiplier < 4 && !established;
  if (o.queryTooBig)
    reasons.push(
      `one query carries ${round(excessBytes)} B of encoded information (query budget ${round(guard.queryBudget * guard.scale)} B)`,
    );
  const sharedOrFlooded = () =>
    domain.users - 1 >= SHARED_DOMAIN_OTHER_CLIENTS || guard.isFlooded?.(domainName) === true;
  const trace = () => [anatomyStage.report(o), queryStage.report(o), stateStage.report(o), normalStage.report(o)];
  if (override !== undefined) {
    guard.counters.allowedByOperator++;
    reasons.unshift(
      `allowed by ${override.by} until ${isoTime(override.until)}${override.domain ? ` for ${override.domain}` : ''}${override.client ? ` from ${override.client}` : ''}`,
    );
  } else if (ratio >= 1 && sharedOrFlooded()) {
    // Many other clients use this domain normally (or it is the victim of a random-subdomain
    // flood): one client's misuse costs it the domain, not them.
    if (domain.users - 1 < SHARED_DOMAIN_OTHER_CLIENTS)
      reasons.push(`${domainName} is under a random-subdomain flood: blocked for this client only, never for everyone`);
    o.action = 'block';
    o.scope = 'client-domain';
    const block = startBlock(
      guard,
      'client',
      domainName,
      ts,
      q.client,
      pair.leaked,
      reasons,
      trace(),
      domain.users - 1,
    );
    o.incident = block.incident;
    o.blockedUntil = block.until;
    guard.counters.clientDomainBlocks++;
  } else if (ratio >= 1) {
    o.action = 'block';
    o.scope = 'domain';
    const block = startBlock(
      guard,
      'domain',
      domainName,
      ts,
      q.client,
      pair.leaked,
      reasons,
      trace(),
      domain.users - 1,
    );
    o.incident = block.incident;
    o.blockedUntil = block.until;
    guard.counters.domainBlocks++;
  } else if (o.queryTooBig) {
    o.action = 'block';
    o.scope = 'query';
    o.incident = incidentId(domainName, ts, 0);
    guard.counters.queryBlocks++;
  } else if (ratio >= 0.5) {
    o.action = 'monitor';
    guard.counters.monitored++;
  }
  o.score = Math.max(o.stateScore, o.queryTooBig ? 0.5 : 0);
  if (o.action !== 'allow' && o.isNew && domain.samples.length < MAX_SAMPLES)
    domain.samples.push(presentName(q.labels));
  o.leaked = pair.leaked;
  o.samples = o.action === 'allow' ? undefined : domain.samples.slice();
}
