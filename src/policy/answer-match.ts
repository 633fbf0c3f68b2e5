/**
 * What the response policy finds in an answer: the first CNAME target that a rule blocks, or the
 * first A/AAAA address under a response-IP (rpz-ip) rule, in answer order. Shared by the policy
 * stage (every answer, from an upstream or the cache) and `dnsward why --resolve`, so the two
 * cannot disagree. Reads the wire answer without decoding it.
 */
import { nameLabels, presentName, skipName, wireKeyOf } from '../dns/name.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import { ipv6Text } from '../util/ip-text.js';
import type { PolicyDecision, PolicyEngine, PolicyGroup } from './policy-engine.js';

export interface AnswerMatch {
  decision: PolicyDecision;
  /** Which part of the answer matched, as the start of an explanation ("CNAME target x: "). */
  via: string;
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;

/**
 * `request` and `qnameAt` locate the question's name (an allowlist exempts an address match by
 * the name asked); `groupOf(query)` is called at most once, and only when the answer has a CNAME
 * or an address to check (passed with its argument so the query path allocates no closure).
 */
export function matchAnswer<Q>(engine: PolicyEngine, answer: Uint8Array, request: Uint8Array, qnameAt: number, groupOf: (query: Q) => PolicyGroup | undefined, query: Q): AnswerMatch | null {
  const ancount = (answer[6] << 8) | answer[7];
  if (ancount === 0) return null;
  let pos = skipName(answer, HEADER_LENGTH, answer.length);
  if (pos < 0) return null;
  pos += 4;
  const checkAddresses = engine.hasIpRules;
  let group: PolicyGroup | undefined;
  let grouped = false;
  for (let i = 0; i < ancount && pos < answer.length; i++) {
    const rdataAt = skipName(answer, pos, answer.length);
    if (rdataAt < 0 || rdataAt + 10 > answer.length) return null;
    const type = (answer[rdataAt] << 8) | answer[rdataAt + 1];
    const rdlength = (answer[rdataAt + 8] << 8) | answer[rdataAt + 9];
    if ((type === TYPE_A && rdlength === 4) || (type === TYPE_AAAA && rdlength === 16)) {
      if (checkAddresses) {
        const address = answer.subarray(rdataAt + 10, rdataAt + 10 + rdlength);
        if (!grouped) { group = groupOf(query); grouped = true; }
        const d = engine.decideAddress(address, request, qnameAt, group);
        if (d !== null) return { decision: d, via: `answer address ${type === TYPE_A ? Array.from(address).join('.') : ipv6Text(address, 0)}: ` };
      }
    } else if (type === TYPE_CNAME) {
      // The target may be compressed: copied out as one contiguous wire name to be hashed.
      const labels = nameLabels(answer, rdataAt + 10);
      if (!grouped) { group = groupOf(query); grouped = true; }
      const d = engine.decideBytes(Buffer.from(wireKeyOf(labels), 'latin1'), 0, group);
      if (d !== null) return { decision: d, via: `CNAME target ${presentName(labels)}: ` };
    }
    pos = rdataAt + 10 + rdlength;
  }
  return null;
}
