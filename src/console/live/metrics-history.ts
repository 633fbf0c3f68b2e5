/**
 * The console's live charts: one sample per second of the server's counters, turned into rates
 * and interval percentiles, kept in a ring of MAX_SAMPLES (one hour). Read by the overview and
 * pushed to live clients. Sampling reads counters only; nothing touches the query path.
 */
import type { LatencyHistogram } from '../../util/histogram.js';
import type { StatsSample } from './stats-sample.js';

export type { StatsSample } from './stats-sample.js';

export interface CounterSource {
  queries: { udp: number; tcp: number; tls: number; https: number };
  responseTypes: Record<string, number>;
  cache: { hits: number; misses: number };
  upstreams: Array<{ name: string; healthy: boolean; latencyAvgMs: number }>;
}

const MAX_SAMPLES = 3600;
const BLOCK_TYPES = ['blocked', 'quarantined'];

/** The upper bound of the bucket holding quantile q of the counts' difference. */
function quantile(buckets: readonly number[], counts: Float64Array, previous: Float64Array, q: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] - previous[i];
  if (total === 0) return 0;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] - previous[i];
    if (seen >= q * total) return buckets[i] ?? buckets[buckets.length - 1] * 2;
  }
  return buckets[buckets.length - 1];
}

export class MetricsHistory {
  private readonly samples: StatsSample[] = [];
  private previous: {
    t: number;
    queries: number;
    types: Record<string, number>;
    hits: number;
    misses: number;
    latency: Float64Array;
  } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(s: StatsSample) => void>();

  constructor(
    private readonly read: () => CounterSource,
    private readonly latency: LatencyHistogram,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  onSample(listener: (s: StatsSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  series(sinceMs = 0): StatsSample[] {
    return this.samples.filter((s) => s.t > sinceMs);
  }

  latest(): StatsSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  sample(now = Date.now()): void {
    const c = this.read();
    const queries = c.queries.udp + c.queries.tcp + c.queries.tls + c.queries.https;
    const latency = Float64Array.from(this.latency.counts);
    const p = this.previous;
    this.previous = {
      t: now,
      queries,
      types: { ...c.responseTypes },
      hits: c.cache.hits,
      misses: c.cache.misses,
      latency,
    };
    if (p === null) return;
    const seconds = Math.max(0.001, (now - p.t) / 1000);
    const byType: Record<string, number> = {};
    for (const [type, n] of Object.entries(c.responseTypes)) {
      const d = n - (p.types[type] ?? 0);
      if (d > 0) byType[type] = d / seconds;
    }
    const lookups = c.cache.hits - p.hits + (c.cache.misses - p.misses);
    const buckets = this.latency.buckets;
    const s: StatsSample = {
      t: now,
      qps: (queries - p.queries) / seconds,
      byType,
      cacheHitRatio: lookups > 0 ? (c.cache.hits - p.hits) / lookups : 0,
      p50ms: quantile(buckets, latency, p.latency, 0.5),
      p90ms: quantile(buckets, latency, p.latency, 0.9),
      p99ms: quantile(buckets, latency, p.latency, 0.99),
      blocksPerSecond: BLOCK_TYPES.reduce((n, t) => n + (byType[t] ?? 0), 0),
      upstreams: c.upstreams.map((u) => ({ name: u.name, healthy: u.healthy, latencyAvgMs: u.latencyAvgMs })),
    };
    this.samples.push(s);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
    for (const l of this.listeners) l(s);
  }
}
