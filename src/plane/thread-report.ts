/** What an I/O thread reports to the main thread every half second: its counters and histograms. */
import type { DataPlaneSnapshot } from '../server/data-plane.js';

export interface HistogramCounts {
  counts: number[];
  sum: number;
  count: number;
}

export interface ThreadReport {
  index: number;
  plane: DataPlaneSnapshot;
  latency: HistogramCounts;
  upstreamLatencies: Array<{ labels: { pool: string; upstream: string } } & HistogramCounts>;
  gate: {
    repeats: number;
    blocked: number;
    wouldBlock: number;
    held: number;
    holding: number;
    holdTimeouts: number;
    holdsRefused: number;
    summariesDropped: number;
  };
  queryLog: { logged: number; dropped: number; writeErrors: number } | null;
  /** The thread's event-loop delay over the last report period (ms). */
  loopDelayMs: { p50: number; p99: number; max: number };
}
