/**
 * Stage 1, query: the evidence of this query alone. A name seen before adds no information;
 * a new one is weighed under this network's character model (protocol records by their
 * meaning, see service-name.ts), with its query type's rarity and its label shapes.
 */
import { QType } from '../../dns/wire.js';
import { checksMail } from '../client-role.js';
import { round } from '../guard-text.js';
import { subdomainShape } from '../name-template.js';
import { repeatedShare, serviceParts } from '../service-name.js';
import type { GuardContext } from '../guard-context.js';
import type { StageReport } from '../verdict.js';
import type { GuardStage, Observation } from './observation.js';

/** Query types tunnels favour for their payload room, with how much more their names weigh. */
const RARE_QTYPE_WEIGHT = new Map<number, number>([
  [QType.NULL, 2], // iodine's favourite, no legitimate use on the Internet
  [QType.KEY, 2], // dns2tcp
  [QType.ANY, 1.5],
  [QType.TXT, 1.5], // dnscat2, DNSExfiltrator, Cobalt Strike
  [QType.CNAME, 1.25],
  [QType.MX, 1.1],
]);

/** Query types whose answers can carry a tunnel's downstream data. */
const PAYLOAD_QTYPES = new Set<number>([QType.CNAME, QType.NULL, QType.TXT, QType.KEY, QType.MX]);

/** Whether answers to `qtype` can carry a tunnel's downstream (the only answers worth observing). */
export function carriesPayload(qtype: number): boolean {
  return PAYLOAD_QTYPES.has(qtype) || (qtype >= 65280 && qtype <= 65534);
}

function qtypeWeight(qtype: number): number {
  if (qtype >= 65280 && qtype <= 65534) return 2; // private use
  return RARE_QTYPE_WEIGHT.get(qtype) ?? 1;
}

/**
 * A protocol record's name (service-name.ts) is set by the protocol (its underscored labels) and
 * by the domain that publishes the record (selector, owner), not by the client asking: every
 * label counts at this weight. Not zero, so payload dressed as a protocol record still fills the
 * client × domain budget, four times more slowly.
 */
const SERVICE_WEIGHT = 0.25;

export const queryStage: GuardStage = {
  name: 'query',
  report(o: Observation): StageReport {
    const evidence: StageReport['evidence'] = { newName: o.isNew, qtypeBits: round(o.qtypeBits) };
    if (o.isNew && o.shape !== undefined) {
      evidence.bits = round(o.bits);
      if (o.service !== undefined) evidence.serviceNameBits = round(o.rawBits);
      evidence.excessBytes = round(o.excessBytes);
      if (o.weight > 1) evidence.qtypeWeight = o.weight;
      evidence.kinds = o.shape.kinds;
      evidence.longestLabel = o.shape.longestLabel;
    }
    return { name: 'query', score: o.isNew ? round(o.guard.nameBits.cdf(o.bits)) : 0, evidence };
  },
};

/** Weighs the query: new name or not, its bits, and the bytes over the network's per-name allowance. */
export function weighQuery(guard: GuardContext, o: Observation): void {
  const { anatomy, q } = o;
  const fresh = guard.seen.addIfNew(o.seenKey);
  // This client asked this name: its next ask is a plain repeat.
  guard.seenUsers.addPairWithLastIfNew(q.client, guard.seen);
  o.isNew = anatomy.subdomainBytes > 0 && fresh;
  o.weight = qtypeWeight(q.qtype);
  if (o.weight > 1) o.domain.rareQtypes++;
  o.qtypeBits = guard.qtypes.bits(q.qtype);
  guard.qtypes.learn(q.qtype);
  if (!o.isNew) return;
  let service = serviceParts(anatomy.subdomainLabels);
  // A DNS-list-shaped name is read as one only from a client whose role is checking mail.
  if (service?.listed === true && !checksMail(guard.clients.peek(q.client))) service = undefined;
  o.service = service;
  let bits = 0;
  if (service === undefined) for (const label of anatomy.subdomainLabels) bits += guard.model.bits(label);
  else bits = serviceBits(guard, anatomy.subdomainLabels, service.first, service.ownerStart);
  o.bits = bits;
  o.rawBits =
    service === undefined ? bits : anatomy.subdomainLabels.reduce((sum, label) => sum + guard.model.bits(label), 0);
  o.shape = subdomainShape(o.subLabels);
  o.excessBytes = Math.max(0, (bits + o.qtypeBits) * o.weight - guard.allowanceBits) / 8;
}

/**
 * Bits of a protocol record's name, at SERVICE_WEIGHT; owner text the selector already spelled
 * (a tenant's label in its selector) is not counted again.
 */
function serviceBits(guard: GuardContext, labels: readonly string[], first: number, ownerStart: number): number {
  let selector = '';
  for (let i = 0; i < first; i++) selector += labels[i];
  let bits = 0;
  for (let i = 0; i < labels.length; i++) {
    const b = guard.model.bits(labels[i]);
    bits += i >= ownerStart ? b * (1 - repeatedShare(labels[i], selector)) : b;
  }
  return bits * SERVICE_WEIGHT;
}
