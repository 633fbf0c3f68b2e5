/**
 * Stage 3, normal: what this network's learned normal says about the domain. Budgets come
 * from the network's own distributions (tunnel-guard.ts relearn); legitimate heavy encoders are
 * recognised by how the network uses them (spread over clients, one stable template, age), with
 * a short documented list as extra evidence, and get more room.
 */
import type { DomainState } from '../guard-state.js';
import { activeHourCount } from '../guard-state.js';
import { round } from '../guard-text.js';
import { knownEncoder } from '../known-encoders.js';
import { sharedLookups } from '../shared-labels.js';
import type { GuardContext } from '../guard-context.js';
import type { StageReport } from '../verdict.js';
import type { GuardStage, NormalFindings, Observation } from './observation.js';

/** Caps of the legitimate-encoder multiplier per window: bulk bursts stay suspect even for encoders. */
const MULTIPLIER_CAP = [8, 32, 64] as const;
/**
 * A recognised encoder (many clients filling one template, or a documented service) has no
 * hour or day budget: one busy client's antivirus lookups add up to tens of KiB a day. Its minute
 * window keeps this multiplier, so a bulk burst through it is still cut.
 */
const RECOGNISED_MINUTE_MULTIPLIER = 16;
const RECOGNISED_MIN_CLIENTS = 5;

export const normalStage: GuardStage = {
  name: 'normal',
  report(o: Observation): StageReport {
    const n = o.normal;
    const evidence: StageReport['evidence'] = {
      encoderMultiplier: round(n.multiplier),
      clients: o.domainClients,
      ageSeconds: round(o.age),
      activeHours: n.hours,
    };
    if (n.stableTemplate) evidence.stableTemplate = true;
    if (n.known !== undefined) evidence.knownEncoder = n.known;
    if (n.recognised) evidence.recognisedEncoder = true;
    if (n.shared) evidence.sharedLabels = o.domain.sharedLabels;
    // How far this domain is from what the network treats as a recognised heavy encoder.
    return { name: 'normal', score: n.recognised ? 0 : round(1 - Math.min(1, Math.log2(n.multiplier) / 6)), evidence };
  },
};

/** Stage 3 on this query's domain. */
export function judgeNormal(o: Observation): void {
  o.normal = normalOf(o.domainName, o.domain, o.q.ts);
  o.domainClients = o.domain.clients;
  o.age = o.q.ts - o.domain.firstSeen;
}

/** What the learned normal says about a domain: legitimate-encoder evidence and its multiplier. */
export function normalOf(domainName: string, domain: DomainState, ts: number): NormalFindings {
  const known = knownEncoder(domainName);
  const hours = activeHourCount(domain);
  const established = ts - domain.firstSeen >= 86400 && hours >= 6;
  const spread = domain.clients >= 3 ? Math.min(8, 1.5 * Math.sqrt(domain.clients)) : 1;
  const stableTemplate = domain.uniqueNames >= 12 && domain.templateStability >= 0.85;
  // Clients asking each other's labels are evidence as strong as the documented list's.
  const shared = sharedLookups(domain);
  let multiplier = spread * (stableTemplate ? 4 : 1) * (established ? 2 : 1) * (known !== undefined || shared ? 8 : 1);
  if (multiplier > 64) multiplier = 64;
  const recognised = known !== undefined || shared || (domain.clients >= RECOGNISED_MIN_CLIENTS && stableTemplate);
  return { known, hours, established, stableTemplate, multiplier, recognised, shared };
}

/** Bytes of encoded information one client may send to a domain in a window (0 minute, 1 hour, 2 day). */
export function windowBudget(guard: GuardContext, window: number, multiplier: number, recognised: boolean): number {
  if (recognised) return window === 0 ? guard.budget * guard.scale * RECOGNISED_MINUTE_MULTIPLIER : Infinity;
  return guard.budget * guard.scale * Math.min(multiplier, MULTIPLIER_CAP[window]);
}
