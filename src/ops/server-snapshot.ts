/**
 * The shape of one running dnsward's counters at an instant: what logs, `status`, the metrics
 * registry and the console read. Declared on its own so that those readers depend on this
 * shape, not on the server that fills it.
 */
import type { FeedStatus } from '../policy/feed-status.js';
import type { OverloadCounters } from '../defence/overload-shedder.js';
import type { ClusterSnapshot } from '../cluster/cluster-counters.js';
import type { PacketCacheStats } from '../cache/packet-cache.js';
import type { Config } from '../config/schema.js';
import type { FrameStreamStats } from '../dnstap/frame-stream-writer.js';
import type { SinkStatus } from '../events/event-bus.js';
import type { ZoneVerdict } from '../zones/zone-answer.js';
import type { GuardCounters } from '../guard/tunnel-guard.js';
import type { DynamicBlocksCounters } from '../defence/dynamic-blocks.js';
import type { DefenceCounters } from '../pipeline/stages/defence-stage.js';
import type { FloodDetectorCounters } from '../flood/flood-detector.js';
import type { FloodStageCounters } from '../pipeline/stages/flood-stage.js';
import type { QueryLogMode } from '../querylog/query-log.js';
import type { DohListenerStats } from '../server/doh-listener.js';
import type { TcpListenerStats } from '../server/tcp-listener.js';
import type { UpstreamStats } from '../upstream/upstream.js';

/** An upstream's counters (its latency histogram as an average) with its pool, name and health. */
export interface UpstreamSnapshot extends Omit<UpstreamStats, 'latency'> {
  pool: string;
  name: string;
  protocol: 'udp' | 'tcp' | 'tls' | 'https';
  healthy: boolean;
  outstanding: number;
  /** TCP, TLS or HTTP/2 connections opened to it (each TLS one with a handshake). */
  connections: number;
  inFlightLimited: number;
  socketOpenFailures: number;
  latencyAvgMs: number;
}

export type FeedSnapshot = FeedStatus;

/** Answers a pipeline stage blocked (or only reported, enforced false), by its reason. */
export interface BlockCount {
  stage: string;
  reason: string;
  enforced: boolean;
  count: number;
}

export interface GuardSnapshot extends GuardCounters {
  mode: Config['guard']['mode'];
  blocked: number;
  wouldBlock: number;
  failOpen: number;
  retraining: { jobs: number; skipped: number; errors: number };
  domains: number;
  clients: number;
  pairs: number;
  activeBlocks: number;
  snapshots: { saves: number; skipped: number; lastBytes: number; lastMs: number } | null;
}

/** The threaded data plane: the I/O threads' gates to the brain, and the brain's reading of their rings. */
export interface PlaneSnapshot {
  threads: number;
  /** Plain repeats the I/O threads settled themselves (in the brain's shared seen filters). */
  repeats: number;
  /** Queries answered from the shared block table, or only reported (monitor mode). */
  blocked: number;
  wouldBlock: number;
  /** First-contact queries held for the brain's verdict; held now; let through unweighed after the hold timeout; not held because too many were. */
  held: number;
  holding: number;
  holdTimeouts: number;
  holdsRefused: number;
  /** Summaries the rings had no room for (the brain was behind): those queries went unweighed. */
  summariesDropped: number;
  /** Each live I/O thread's share: how the kernel spread the queries, and where blocks were answered. */
  perThread: Array<{
    index: number;
    queries: number;
    blocked: number;
    held: number;
    summariesDropped: number;
    loopDelayMs: { p50: number; p99: number; max: number };
  }>;
  brainConsumed: number;
  brainBacklog: number;
  brainFailOpen: number;
  /** Block verdicts on queries already let through (not held, not yet in the table). */
  passedBeforeBlock: number;
  threadRestarts: number;
}

export interface ServerSnapshot {
  /** Local zones read again (a file change, or a reload that changed them), by zone and result (ok, refused). */
  zoneReloads: Array<{ zone: string; result: 'ok' | 'refused'; count: number }>;
  /** Local-zone answers by verdict, and queries a zone's view did not admit (they went on). */
  zoneAnswers: Record<ZoneVerdict, number> & { outsideView: number };
  queries: { udp: number; tcp: number; tls: number; https: number };
  responseTypes: Record<string, number>;
  rcodes: Record<string, number>;
  qtypes: Record<string, number>;
  malformed: Record<string, number>;
  cache: PacketCacheStats & { hits: number; misses: number; entries: number; bytes: number; staleServed: number };
  upstreams: UpstreamSnapshot[];
  inFlight: number;
  events: { published: number; dropped: number; queueDepth: number; sinkErrors: number; sinks: SinkStatus[] };
  blocks: BlockCount[];
  policy: { blocked: number; wouldBlock: number; errors: number; eventsHeld: number; feeds: FeedSnapshot[] };
  dnstap: FrameStreamStats | null;
  queryLog: { mode: QueryLogMode; logged: number; dropped: number; retained: number; writeErrors: number };
  guard: GuardSnapshot;
  tcp: TcpListenerStats;
  /** DNS over TLS listeners (summed; `handshakeFailures` are TLS handshakes that failed) and DNS over HTTPS listeners (summed). */
  encrypted: { dot: TcpListenerStats & { handshakeFailures: number }; doh: DohListenerStats };
  /** Self-defence: per-client rate limits, response-rate limiting, DNS cookies and minimal ANY (counters of each). */
  defence: DefenceCounters;
  /** Dynamic blocks' analysis (main thread): blocks in force, prefixes weighed, blocks started, extended, expired, lifted, and what the bounds left out. */
  dynamicBlocks: DynamicBlocksCounters & { errors: number };
  /**
   * Random-subdomain floods: the data planes' limiting (summed over threads; `flagged` is the
   * detector's count of domains flagged now) and the detector's counters.
   */
  flood: FloodStageCounters & FloodDetectorCounters & { enabled: boolean; mode: string; tracked: number };
  stageErrors: number;
  /** null when the data plane runs on the main thread (`threads: 0`). */
  plane: PlaneSnapshot | null;
  /** Decisions shared through Redis (`cluster:`); null: this node alone. */
  cluster: ClusterSnapshot | null;
  /** Overload shedding (defence.overload): threads overloaded now, cache misses refused, overload episodes. */
  overload: OverloadCounters;
  /** Configuration reloads since start, and how the last one went. */
  reloads: ReloadStatus;
}

export interface ReloadStatus {
  succeeded: number;
  failed: number;
  /** Whether the last reload (or the start) applied the configuration. */
  lastOk: boolean;
  /** When the configuration in force was applied (ms since the epoch). */
  lastSuccessAt: number;
}
