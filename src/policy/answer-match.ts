/**
 * What the response policy finds in an answer: the first CNAME target that a rule blocks, or the
 * first A/AAAA address under a response-IP (rpz-ip) rule, in answer order. Shared by the policy
 * stage (every answer, from an upstream or the cache) and `dnsward why --resolve`, so the two
 * cannot disagree. Reads the wire answer without decoding it.
 */
import { nameLabels, presentName, wireKeyOf } from '../dns/name.js';
import { RecordCursor } from '../dns/record-cursor.js';
import { QType } from '../dns/wire.js';
import { ipv6Text } from '../util/ip-text.js';
import type { PolicyDecision, PolicyEngine, PolicyGroup } from './policy-engine.js';

export interface AnswerMatch {
  decision: PolicyDecision;
  /** Which part of the answer matched, as the start of an explanation ("CNAME target x: "). */
  via: string;
}

const cursor = new RecordCursor();

/**
 * `request` and `qnameAt` locate the question's name (an allowlist exempts an address match by
 * the name asked); `groupOf(query)` is called at most once, and only when the answer has a CNAME
 * or an address to check (passed with its argument so the query path allocates no closure).
 */
export function matchAnswer<Q>(
  engine: PolicyEngine,
  answer: Uint8Array,
  request: Uint8Array,
  qnameAt: number,
  groupOf: (query: Q) => PolicyGroup | undefined,
  query: Q,
): AnswerMatch | null {
  const c = cursor.start(answer, answer.length, 1);
  if (c.ancount === 0) return null;
  const checkAddresses = engine.hasIpRules;
  let group: PolicyGroup | undefined;
  let grouped = false;
  while (c.next()) {
    const { type, rdata, rdlength } = c;
    if ((type === QType.A && rdlength === 4) || (type === QType.AAAA && rdlength === 16)) {
      if (checkAddresses) {
        const address = answer.subarray(rdata, rdata + rdlength);
        if (!grouped) {
          group = groupOf(query);
          grouped = true;
        }
        const d = engine.decideAddress(address, request, qnameAt, group);
        if (d !== null)
          return {
            decision: d,
            via: `answer address ${type === QType.A ? Array.from(address).join('.') : ipv6Text(address, 0)}: `,
          };
      }
    } else if (type === QType.CNAME) {
      // The target may be compressed: copied out as one contiguous wire name to be hashed.
      const labels = nameLabels(answer, rdata);
      if (!grouped) {
        group = groupOf(query);
        grouped = true;
      }
      const d = engine.decideBytes(Buffer.from(wireKeyOf(labels), 'latin1'), 0, group);
      if (d !== null) return { decision: d, via: `CNAME target ${presentName(labels)}: ` };
    }
  }
  return null;
}
