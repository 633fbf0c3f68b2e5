/**
 * What the operator commands (commands/) need from the running dnsward: Tunnel Guard, the
 * dynamic blocks, the flood detector and the feeds, and the means to keep, announce and share a
 * change. DnswardServer implements it; the commands never import the server (the server imports
 * them), so a command can run against a host of a test's making.
 */
import type { Cluster } from '../cluster/cluster.js';
import type { Config } from '../config/schema.js';
import type { DynamicBlocks } from '../defence/dynamic-blocks.js';
import type { SecurityEvent } from '../events/security-event-types.js';
import type { FloodDetector } from '../flood/flood-detector.js';
import type { TunnelGuard } from '../guard/tunnel-guard.js';
import type { FeedStatus } from '../policy/feed-status.js';
import type { LocalLists } from '../policy/local-lists.js';
import type { AuditEntry } from '../store/guard-store.js';

export interface OperatorHost {
  readonly guard: Pick<
    TunnelGuard,
    | 'activeBlocks'
    | 'overrides'
    | 'quarantines'
    | 'unblocked'
    | 'allow'
    | 'disallow'
    | 'blocksOn'
    | 'restoreBlocks'
    | 'unblock'
    | 'quarantine'
    | 'release'
  >;
  /** The guard's mode now: the configured one, or monitor while an operator said so. */
  readonly guardMode: string;
  /** Until when (seconds) an operator put Tunnel Guard in monitor mode; null when not. */
  readonly monitorUntil: number | null;
  /** Monitor mode until a time (seconds), or the configured mode again (null). */
  setMonitor(until: number | null): void;
  /**
   * Saves the operator's decisions as they are now, with the change's audit entry, in one
   * transaction; nothing without a store (before start). Throws when the write fails.
   */
  saveOperator(entry?: AuditEntry): void;
  auditChange(who: string, action: string, subject: string, detail: object, comment?: string): void;
  auditLog(limit: number): AuditEntry[];
  readonly events: { publish(event: SecurityEvent): void };
  /** Decisions shared with other nodes; null: this node alone. */
  readonly cluster: Pick<Cluster, 'node' | 'sync' | 'decisions' | 'rates' | 'share'> | null;
  readonly dynamicBlocks: Pick<DynamicBlocks, 'list' | 'lift'>;
  /** Sends the dynamic blocks in force to the data planes (after a lift). */
  publishDynamicBlocks(): void;
  readonly flood: Pick<FloodDetector, 'tracked' | 'active'>;
  readonly runningConfig: Config;
  feedStatus(): FeedStatus[];
  /** The local allow and deny lists; null before start. */
  readonly localLists: Pick<LocalLists, 'entries' | 'add' | 'remove'> | null;
  /** Re-reads feeds now (all, or one by name); resolves with the names whose new version is in force. */
  refreshFeeds(name?: string): Promise<string[]>;
}
