/**
 * What the Prometheus registry reads from the running dnsward at scrape time: one counter
 * snapshot and the latency histograms. The metrics depend on this, not on the server.
 */
import type { ServerSnapshot } from '../ops/server-snapshot.js';
import type { LatencyHistogram } from '../util/histogram.js';

export interface MetricsBackend {
  snapshot(): ServerSnapshot;
  /** Brings snapshot() up to date with every thread's counters (at most a short wait). */
  refresh(): Promise<void>;
  /** Client-facing query latency. */
  readonly stats: { readonly latency: LatencyHistogram };
  /** Answer latency per upstream. */
  upstreamLatencies(): Array<{ labels: { pool: string; upstream: string }; histogram: LatencyHistogram }>;
  /** Time Tunnel Guard spent on new names. */
  readonly guardDetectorTime: LatencyHistogram;
  /** Cluster decision propagation lag (null: no cluster). */
  readonly clusterLag: LatencyHistogram | null;
}
