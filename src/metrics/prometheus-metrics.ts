/**
 * Prometheus metrics (prom-client) read from the server's own counters at scrape time: nothing
 * is added to the query path. Counters and gauges are computed from DnswardServer.snapshot() and
 * the latency histograms the pipeline already keeps.
 */
import { collectDefaultMetrics, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import type { DnswardServer } from '../server/dnsward-server.js';
import type { LatencyHistogram } from '../util/histogram.js';

type Labels = Record<string, string | number>;
type Sample = { labels: Labels; value: number };

/** A metric whose samples are produced at scrape time (prom-client's `get()` contract). */
class ScrapedMetric {
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly samples: () => Sample[],
  ) {}

  get(): MetricObjectWithValues<MetricValue<string>> {
    return { name: this.name, help: this.help, type: this.type as never, aggregator: this.aggregator, values: this.samples() } as unknown as MetricObjectWithValues<MetricValue<string>>;
  }

  reset(): void {}
}

/** A histogram exposed from one of dnsward's fixed-bucket latency histograms (milliseconds). */
class ScrapedHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly histogram: () => LatencyHistogram,
    private readonly unitSeconds = 0.001,
  ) {}

  get(): MetricObjectWithValues<MetricValue<string>> {
    const h = this.histogram();
    const bucketsMs = h.buckets;
    const values: Array<MetricValue<string> & { metricName: string }> = [];
    let cumulative = 0;
    bucketsMs.forEach((le, i) => {
      cumulative += h.counts[i];
      values.push({ metricName: `${this.name}_bucket`, labels: { le: le * this.unitSeconds }, value: cumulative });
    });
    cumulative += h.counts[bucketsMs.length];
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: h.sum * this.unitSeconds });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: h.count });
    return { name: this.name, help: this.help, type: this.type as never, aggregator: this.aggregator, values } as unknown as MetricObjectWithValues<MetricValue<string>>;
  }

  reset(): void {}
}

export function buildRegistry(server: DnswardServer): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dnsward_' });
  let cached: ReturnType<DnswardServer['snapshot']> | null = null;
  let cachedAt = 0;
  // One snapshot per scrape (within 100 ms), shared by every metric below.
  const snap = () => {
    const now = performance.now();
    if (cached === null || now - cachedAt > 100) {
      cached = server.snapshot();
      cachedAt = now;
    }
    return cached;
  };
  const add = (m: ScrapedMetric | ScrapedHistogram) => registry.registerMetric(m as never);
  const entries = (o: Record<string, number>, label: string): Sample[] => Object.entries(o).map(([k, v]) => ({ labels: { [label]: k }, value: v }));
  add(new ScrapedMetric('dnsward_queries_total', 'Queries received, by transport.', 'counter', () => entries(snap().queries, 'transport')));
  add(new ScrapedMetric('dnsward_responses_total', 'Queries settled, by response type (answered, cached, stale, blocked, …).', 'counter', () => entries(snap().responseTypes, 'type')));
  add(new ScrapedMetric('dnsward_responses_by_rcode_total', 'Answers sent, by rcode.', 'counter', () => entries(snap().rcodes, 'rcode')));
  add(new ScrapedMetric('dnsward_responses_by_qtype_total', 'Answers sent, by query type.', 'counter', () => entries(snap().qtypes, 'qtype')));
  add(new ScrapedMetric('dnsward_malformed_queries_total', 'Malformed queries, by reason.', 'counter', () => entries(snap().malformed, 'reason')));
  add(new ScrapedHistogram('dnsward_query_duration_seconds', 'Time from receiving a query to sending its answer.', () => server.stats.latency));
  add(new ScrapedMetric('dnsward_cache_hits_total', 'Packet cache hits.', 'counter', () => [{ labels: {}, value: snap().cache.hits }]));
  add(new ScrapedMetric('dnsward_cache_misses_total', 'Packet cache misses.', 'counter', () => [{ labels: {}, value: snap().cache.misses }]));
  add(new ScrapedMetric('dnsward_cache_entries', 'Entries in the packet cache.', 'gauge', () => [{ labels: {}, value: snap().cache.entries }]));
  add(new ScrapedMetric('dnsward_cache_bytes', 'Bytes of answers in the packet cache.', 'gauge', () => [{ labels: {}, value: snap().cache.bytes }]));
  const upstream = (field: 'queries' | 'answers' | 'timeouts' | 'errors' | 'latencyAvgMs' | 'outstanding', scale = 1) => () =>
    snap().upstreams.map((u) => ({ labels: { pool: u.pool, upstream: u.name }, value: u[field] * scale }));
  add(new ScrapedMetric('dnsward_upstream_queries_total', 'Queries sent to each upstream.', 'counter', upstream('queries')));
  add(new ScrapedMetric('dnsward_upstream_answers_total', 'Answers accepted from each upstream.', 'counter', upstream('answers')));
  add(new ScrapedMetric('dnsward_upstream_timeouts_total', 'Tries that timed out, per upstream.', 'counter', upstream('timeouts')));
  add(new ScrapedMetric('dnsward_upstream_errors_total', 'Send and connection errors, per upstream.', 'counter', upstream('errors')));
  add(new ScrapedMetric('dnsward_upstream_latency_avg_seconds', 'Average answer latency of each upstream since start.', 'gauge', upstream('latencyAvgMs', 0.001)));
  add(new ScrapedMetric('dnsward_upstream_outstanding', 'Queries waiting on each upstream.', 'gauge', upstream('outstanding')));
  add(new ScrapedMetric('dnsward_upstream_healthy', '1 when the upstream is considered healthy.', 'gauge', () => snap().upstreams.map((u) => ({ labels: { pool: u.pool, upstream: u.name }, value: u.healthy ? 1 : 0 }))));
  const g = () => snap().guard;
  add(new ScrapedMetric('dnsward_guard_blocks_total', 'Queries Tunnel Guard blocked, by scope (domain block started, query, blocked domain, quarantined client).', 'counter', () => [
    { labels: { scope: 'domain_block_started' }, value: g().domainBlocks },
    { labels: { scope: 'query' }, value: g().queryBlocks },
    { labels: { scope: 'blocked_domain' }, value: g().blockedByDomain },
    { labels: { scope: 'quarantined_client' }, value: g().quarantined },
  ]));
  add(new ScrapedMetric('dnsward_guard_answers_total', 'Block answers Tunnel Guard sent (block mode) and block verdicts it only reported (monitor mode).', 'counter', () => [
    { labels: { enforced: 'true' }, value: g().blocked },
    { labels: { enforced: 'false' }, value: g().wouldBlock },
  ]));
  add(new ScrapedMetric('dnsward_guard_fail_open_total', 'Queries let through because the detector failed.', 'counter', () => [{ labels: {}, value: g().failOpen }]));
  add(new ScrapedMetric('dnsward_guard_names_total', 'Queries Tunnel Guard saw, by whether the name was new.', 'counter', () => [
    { labels: { name: 'new' }, value: g().newNames },
    { labels: { name: 'repeat' }, value: g().repeats },
  ]));
  add(new ScrapedMetric('dnsward_guard_state_entries', 'Entries of Tunnel Guard state, by kind (bounded by guard.maxDomains, maxClients, maxPairs).', 'gauge', () => [
    { labels: { kind: 'domains' }, value: g().domains },
    { labels: { kind: 'clients' }, value: g().clients },
    { labels: { kind: 'pairs' }, value: g().pairs },
  ]));
  add(new ScrapedMetric('dnsward_guard_active_blocks', 'Registered domains under a Tunnel Guard block now.', 'gauge', () => [{ labels: {}, value: g().activeBlocks }]));
  add(new ScrapedMetric('dnsward_guard_snapshot_bytes', 'Size of the last saved Tunnel Guard snapshot.', 'gauge', () => [{ labels: {}, value: g().snapshots?.lastBytes ?? 0 }]));
  add(new ScrapedMetric('dnsward_events_published_total', 'Security events published.', 'counter', () => [{ labels: {}, value: snap().events.published }]));
  add(new ScrapedMetric('dnsward_events_dropped_total', 'Security events dropped because the queue was full.', 'counter', () => [{ labels: {}, value: snap().events.dropped }]));
  add(new ScrapedMetric('dnsward_events_sink_errors_total', 'Batches a sink failed to take.', 'counter', () => [{ labels: {}, value: snap().events.sinkErrors }]));
  add(new ScrapedMetric('dnsward_events_queue_depth', 'Security events waiting for the sinks.', 'gauge', () => [{ labels: {}, value: snap().events.queueDepth }]));
  add(new ScrapedHistogram('dnsward_guard_detector_seconds', 'Time Tunnel Guard spent on a new name (repeats are not timed: they cost one filter check).', () => server.guardDetectorTime));
  return registry;
}
