/**
 * One second of the console's live charts (GET /api/overview's series, the live stream's `stats`),
 * types only: metrics-history.ts makes them, the browser code draws them, both import this.
 */
export interface StatsSample {
  /** ms since the epoch. */
  t: number;
  qps: number;
  /** Answers per second by response type (answered, cached, blocked, …). */
  byType: Record<string, number>;
  cacheHitRatio: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  blocksPerSecond: number;
  upstreams: Array<{ name: string; healthy: boolean; latencyAvgMs: number }>;
}
