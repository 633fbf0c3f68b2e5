/**
 * The security events dnsward emits: one typed event per security decision, each with
 * the full stage trace, so the log, every SIEM sink and the console show the same explanation.
 * Mappings to OCSF and ECS belong to the sinks that need them.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { SecurityEvent, SecurityEventType } from './security-event-types.js';

export type { SecurityEvent, SecurityEventType } from './security-event-types.js';

/** Every event type, for filters that must refuse a misspelt one (checked complete by the compiler). */
export const SECURITY_EVENT_TYPES = [
  'tunnel_detected',
  'domain_blocked',
  'query_blocked',
  'domain_unblocked',
  'client_quarantined',
  'client_released',
  'allow_override',
  'detector_fail_open',
  'policy_blocked',
  'client_rate_blocked',
  'client_rate_unblocked',
  'flood_detected',
  'flood_ended',
] as const;
type Missing = Exclude<SecurityEventType, (typeof SECURITY_EVENT_TYPES)[number]>;
const complete: Missing extends never ? true : Missing = true;
void complete;

/** This machine's name: the node of an event unless a cluster names it (or another node decided). */
export const LOCAL_NODE = hostname();

export function securityEvent(
  fields: Omit<SecurityEvent, 'id' | 'time' | 'node'> & { time?: string; node?: string },
): SecurityEvent {
  return { id: randomUUID(), time: fields.time ?? new Date().toISOString(), node: LOCAL_NODE, ...fields };
}
