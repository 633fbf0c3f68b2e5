/**
 * What the console needs from the running dnsward: counters, the operator commands, the audit
 * log, Tunnel Guard's read model, the query log's reads and the running configuration. The
 * console depends on this, not on the server; the composition root hands it the server.
 */
import type { Config } from '../config/schema.js';
import type { ControlRequest } from '../control/control-protocol.js';
import type { TunnelGuard } from '../guard/tunnel-guard.js';
import type { ServerSnapshot } from '../ops/server-snapshot.js';
import type { QueryLog } from '../querylog/query-log.js';
import type { AuditEntry } from '../store/guard-store.js';
import type { SecurityEvent } from '../events/security-event-types.js';
import type { EventFilter } from '../querylog/query-log-store.js';
import type { LatencyHistogram } from '../util/histogram.js';

/** The parts of Tunnel Guard the console's pages read (never its learning or decisions). */
export type GuardReadModel = Pick<
  TunnelGuard,
  | 'describeDomain'
  | 'describeClient'
  | 'searchDomains'
  | 'recognisedEncoders'
  | 'learningSince'
  | 'budget'
  | 'queryBudget'
  | 'allowanceBits'
> & {
  readonly model: { readonly observed: number };
};

/** The fleet's events (every cluster node's, in Redis), as the Threats page's fleet scope reads them. */
export interface FleetEventsReader {
  /** This node's name. */
  readonly node: string;
  /** Newest first; throws (FleetUnavailable) when Redis cannot be read. */
  read(filter: EventFilter): Promise<{ events: SecurityEvent[]; scanned: number; dropped: number; truncated: boolean }>;
}

export interface ConsoleBackend {
  /** Counters now (overview, learning, the live charts). */
  snapshot(): ServerSnapshot;
  /** Client-facing query latency, for the live charts' percentiles. */
  readonly stats: { readonly latency: LatencyHistogram };
  /** The operator commands (blocks, allow, unblock, quarantine, release, monitor); throws with a message to show. */
  control(request: ControlRequest): unknown;
  /** Records an operator change (console users and tokens, logins) in the audit log. */
  auditChange(who: string, action: string, subject: string, detail: object, comment?: string): void;
  /** The newest audit entries, oldest first. */
  auditLog(limit: number): AuditEntry[];
  /** The newest audit entries about these subjects (a domain, client addresses), oldest first. */
  auditFor(subjects: readonly string[], limit: number): AuditEntry[];
  readonly guard: GuardReadModel;
  readonly guardMode: string;
  /** Until when (seconds) an operator put Tunnel Guard in monitor mode; null when not. */
  readonly monitorUntil: number | null;
  readonly queryLog: Pick<QueryLog, 'events' | 'queries' | 'search' | 'stats' | 'clientStats' | 'mode'>;
  readonly runningConfig: Config;
  /** In a cluster: the fleet's events; null when this node runs alone. */
  readonly fleet: FleetEventsReader | null;
}
