/**
 * The shapes the console API returns. Events, logged queries and the live charts' samples are
 * the server's own declarations (type-only modules both builds compile); what is left here has
 * no such module on the server yet.
 */
import type { AttackTechnique, SecurityEvent as ServerSecurityEvent } from '../../events/security-event-types.js';

export type { StageReport } from '../../guard/verdict.js';
export type { StatsSample } from '../live/stats-sample.js';
export type { QueryRecord as QueryRow } from '../../querylog/query-record.js';

/** An event; the threat routes and the live stream add its ATT&CK techniques, the entity pages do not. */
export type SecurityEvent = ServerSecurityEvent & { attack?: readonly AttackTechnique[] };

export interface LearnedDomain {
  domain: string;
  firstSeen: number;
  lastSeen: number;
  queries: number;
  uniqueNames: number;
  clients: number;
  nxdomainRatio: number;
  downstreamBytes: number;
  templateStability: number;
  activeHours: number;
  leakedBytes: number;
  samples: string[];
  knownEncoder: string | null;
  recognisedEncoder: boolean;
  established: boolean;
  encoderMultiplier: number;
  budgetBytes: Array<number | null>;
  block: { incident: string; since: number; until: number; offenses: number } | null;
}

export interface Me {
  user: string;
  role: 'admin' | 'viewer';
  csrfToken: string | null;
}
