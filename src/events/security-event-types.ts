/**
 * The security event's shape, types only: the server (events/security-event.ts and every sink)
 * and the console's browser code (src/console/web, which compiles it too) import this one
 * declaration. Nothing here may import Node modules or hold runtime code.
 */
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

/** A MITRE ATT&CK technique an event is evidence of (events/attack-techniques.ts). */
export interface AttackTechnique {
  /** The ATT&CK technique id (T1071.004, …). */
  id: string;
  name: string;
}

/** An event as the console's API and live stream send it: with its ATT&CK techniques. */
export type ConsoleSecurityEvent = SecurityEvent & { attack: readonly AttackTechnique[] };
