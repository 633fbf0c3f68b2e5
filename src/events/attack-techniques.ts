/**
 * MITRE ATT&CK techniques a security event is evidence of, so an analyst (and a SIEM rule) can
 * file a threat under the framework their playbooks use. One table, server-side: the console's
 * API output and its exports take it from here, docs/EVENTS.md lists it.
 */
import type { AttackTechnique, SecurityEvent, SecurityEventType } from './security-event-types.js';

export type { AttackTechnique } from './security-event-types.js';

const DNS_C2: AttackTechnique = { id: 'T1071.004', name: 'Application Layer Protocol: DNS' };
const EXFILTRATION: AttackTechnique = { id: 'T1048', name: 'Exfiltration Over Alternative Protocol' };
const TUNNELING: AttackTechnique = { id: 'T1572', name: 'Protocol Tunneling' };

/** Data carried in DNS names, whichever way Tunnel Guard reported it (monitor, domain or query block). */
const TUNNEL = [DNS_C2, EXFILTRATION, TUNNELING] as const;

// Only what the event shows: policy, flood and operator events are no evidence of a technique.
const BY_TYPE: Partial<Record<SecurityEventType, readonly AttackTechnique[]>> = {
  tunnel_detected: TUNNEL,
  domain_blocked: TUNNEL,
  query_blocked: TUNNEL,
};

export function attackTechniques(type: SecurityEventType | string): readonly AttackTechnique[] {
  return BY_TYPE[type as SecurityEventType] ?? [];
}

/** The event as the console's API shows it: with its ATT&CK techniques. */
export function withAttack<E extends Pick<SecurityEvent, 'type'>>(e: E): E & { attack: readonly AttackTechnique[] } {
  return { ...e, attack: attackTechniques(e.type) };
}
