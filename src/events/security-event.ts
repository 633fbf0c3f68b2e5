/**
 * The security events dnsward emits: one typed event per security decision, each with
 * the full stage trace, so the log, every SIEM sink and the console show the same explanation.
 * Mappings to OCSF and ECS belong to the sinks that need them.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { StageReport } from '../guard/verdict.js';

export type SecurityEventType =
  | 'tunnel_detected'
  | 'domain_blocked'
  | 'query_blocked'
  | 'domain_unblocked'
  | 'client_quarantined'
  | 'client_released'
  | 'allow_override'
  | 'detector_fail_open'
  | 'policy_blocked'
  /** A client prefix passed a dynamic block rule (defence.dynamicBlocks) and is blocked for a while; its stage trace is the defence stage's evidence. */
  | 'client_rate_blocked'
  /** An operator lifted a client prefix's dynamic block before its end. */
  | 'client_rate_unblocked'
  /** A random-subdomain flood against a domain began (its new names now limited toward the upstreams). */
  | 'flood_detected'
  | 'flood_ended';

/** Every event type, for filters that must refuse a misspelt one (checked complete by the compiler). */
export const SECURITY_EVENT_TYPES = ['tunnel_detected', 'domain_blocked', 'query_blocked', 'domain_unblocked', 'client_quarantined', 'client_released', 'allow_override', 'detector_fail_open', 'policy_blocked', 'client_rate_blocked', 'client_rate_unblocked', 'flood_detected', 'flood_ended'] as const;
type Missing = Exclude<SecurityEventType, (typeof SECURITY_EVENT_TYPES)[number]>;
const complete: Missing extends never ? true : Missing = true;
void complete;

export interface SecurityEvent {
  id: string;
  /** ISO 8601. */
  time: string;
  type: SecurityEventType;
  /** 1 (info) … 10 (critical), CEF-style. */
  severity: number;
  node: string;
  client?: string;
  domain?: string;
  qname?: string;
  action?: string;
  /** Whether the action was enforced (false in monitor mode). */
  enforced?: boolean;
  incident?: string;
  leakedBytes?: number;
  samples?: string[];
  reasons: string[];
  stages: StageReport[];
  /** Who made an operator change. */
  operator?: string;
  /** For policy events: which group, feed (and its version), category and rule decided. */
  policy?: { group: string; feed: string; category: string; version: string; rule: string; line: number };
}

/** This machine's name: the node of an event unless a cluster names it (or another node decided). */
export const LOCAL_NODE = hostname();

export function securityEvent(fields: Omit<SecurityEvent, 'id' | 'time' | 'node'> & { time?: string; node?: string }): SecurityEvent {
  return { id: randomUUID(), time: fields.time ?? new Date().toISOString(), node: LOCAL_NODE, ...fields };
}
