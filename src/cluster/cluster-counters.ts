/** The cluster's counters (`dnsward_cluster_*` metrics, and the SIGUSR1 counters snapshot). */
import { LatencyHistogram } from '../util/histogram.js';
import type { DropReason } from './decision.js';

/** Propagation lag buckets, milliseconds: sent by one node to applied by this one. */
const LAG_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

export class ClusterCounters {
  /** Local decisions written to Redis and published. */
  published = 0;
  /** Messages read from the channel (other nodes' and our own echoes). */
  received = 0;
  /** Other nodes' decisions applied here (from the channel or from the set at a (re)join). */
  applied = 0;
  /** Messages and writes not applied or not sent, by why. */
  readonly dropped: Record<DropReason, number> = {
    oversize: 0,
    malformed: 0,
    expired: 0,
    future: 0,
    stale: 0,
    allowlisted: 0,
    'queue-full': 0,
    'redis-error': 0,
    'over-bound': 0,
  };
  /** Times the set was read and local decisions pushed back (each (re)connect, and every resyncInterval). */
  syncs = 0;
  /** Local decisions the last sync found missing or older in Redis and wrote. */
  pushed = 0;
  /** Times the connection to Redis was lost. */
  disconnects = 0;
  readonly lag = new LatencyHistogram(LAG_BUCKETS_MS);
  /** Learning as one (shared-learning.ts): pair windows written and read, pairs forgotten past the bound. */
  readonly learning = { written: 0, read: 0, forgotten: 0 };
  /** The fleet console's stream (fleet-events.ts): events written and not written, entries read and skipped as malformed. */
  readonly fleet = { written: 0, dropped: 0, read: 0, malformed: 0 };
}

export interface ClusterSnapshot {
  node: string;
  redis: string;
  connected: boolean;
  queueDepth: number;
  published: number;
  received: number;
  applied: number;
  dropped: Record<DropReason, number>;
  syncs: number;
  pushed: number;
  disconnects: number;
  lastSyncAt: number | null;
  learning: { pairs: number; written: number; read: number; forgotten: number };
  fleet: { written: number; dropped: number; read: number; malformed: number };
}
