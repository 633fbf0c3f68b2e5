/**
 * Prometheus metrics (prom-client) read from the server's own counters at scrape time: nothing
 * is added to the query path. Counters and gauges are computed from one snapshot() per scrape of
 * the MetricsBackend (the running server) and the latency histograms the pipeline already
 * keeps. With I/O threads, the backend's snapshot is already the sum of the threads' reports.
 */
import { collectDefaultMetrics, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import type { ServerSnapshot } from '../ops/server-snapshot.js';
import type { LatencyHistogram } from '../util/histogram.js';
import type { MetricsBackend } from './metrics-backend.js';
import { packageVersion } from '../util/package-version.js';

type Labels = Record<string, string | number>;
type Sample = { labels: Labels; value: number };

/** A metric whose samples are produced at scrape time (prom-client's `get()` contract). */
class ScrapedMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly samples: () => Sample[],
    /** How values of several registries would be combined (prom-client's contract; one registry here). */
    readonly aggregator: 'sum' | 'average' | 'min' | 'max' = 'sum',
  ) {}

  get(): MetricObjectWithValues<MetricValue<string>> {
    const samples = this.samples();
    const values = this.type === 'counter' ? samples.map((s) => this.monotonic.value(s)) : samples;
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      aggregator: this.aggregator,
      values,
    } as unknown as MetricObjectWithValues<MetricValue<string>>;
  }

  private readonly monotonic = new MonotonicCounters();

  reset(): void {}
}

/**
 * Counters that never go back: a reload rebuilds upstream pools and feeds, whose own counts start
 * again from zero, and Prometheus would read that as a process restart. A drop below the last
 * value seen for a label set is carried as an offset. At most MAX_SERIES label sets are
 * remembered (counters here have a handful each); past it, new ones pass through as they are.
 */
class MonotonicCounters {
  private static readonly MAX_SERIES = 10_000;
  private readonly seen = new Map<string, { last: number; offset: number }>();

  value(s: Sample): Sample {
    const key = JSON.stringify(s.labels);
    let state = this.seen.get(key);
    if (state === undefined) {
      if (this.seen.size >= MonotonicCounters.MAX_SERIES) return s;
      state = { last: 0, offset: 0 };
      this.seen.set(key, state);
    }
    if (s.value < state.last) state.offset += state.last;
    state.last = s.value;
    return { labels: s.labels, value: state.offset + s.value };
  }
}

/** Histograms exposed from dnsward's fixed-bucket latency histograms (milliseconds), one series per label set. */
class ScrapedHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => Array<{ labels: Labels; histogram: LatencyHistogram }>,
    private readonly unitSeconds = 0.001,
  ) {}

  get(): MetricObjectWithValues<MetricValue<string>> {
    const values: Array<MetricValue<string> & { metricName: string }> = [];
    for (const { labels, histogram: h } of this.series()) {
      let cumulative = 0;
      h.buckets.forEach((le, i) => {
        cumulative += h.counts[i];
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le: le * this.unitSeconds },
          value: cumulative,
        });
      });
      cumulative += h.counts[h.buckets.length];
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels, value: h.sum * this.unitSeconds });
      values.push({ metricName: `${this.name}_count`, labels, value: h.count });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      aggregator: this.aggregator,
      values,
    } as unknown as MetricObjectWithValues<MetricValue<string>>;
  }

  reset(): void {}
}

export function buildRegistry(server: MetricsBackend): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dnsward_' });
  // Gauges named like counters (prom-client's totals); the per-type gauges without _total stay.
  for (const name of [
    'dnsward_nodejs_active_handles_total',
    'dnsward_nodejs_active_requests_total',
    'dnsward_nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  let cached: ServerSnapshot | null = null;
  // One snapshot per scrape, shared by every metric below: the registry asks every metric in one
  // synchronous pass, and the snapshot is forgotten right after it. (A snapshot kept for 100 ms
  // served a scrape right after another the earlier numbers: a flaky CI test.)
  const snap = () => {
    if (cached === null) {
      cached = server.snapshot();
      setImmediate(() => {
        cached = null;
      });
    }
    return cached;
  };
  const add = (m: ScrapedMetric | ScrapedHistogram) => registry.registerMetric(m as never);
  const entries = (o: Record<string, number>, label: string): Sample[] =>
    Object.entries(o).map(([k, v]) => ({ labels: { [label]: k }, value: v }));
  const one = (name: string, help: string, type: 'counter' | 'gauge', value: (s: ServerSnapshot) => number) =>
    add(new ScrapedMetric(name, help, type, () => [{ labels: {}, value: value(snap()) }]));
  const scrape: Scrape = { add, one, snap, entries, server };
  trafficMetrics(scrape);
  defenceMetrics(scrape);
  zoneMetrics(scrape);
  cacheMetrics(scrape);
  buildMetrics(scrape);
  upstreamMetrics(scrape);
  guardMetrics(scrape);
  eventMetrics(scrape);
  policyMetrics(scrape);
  clusterMetrics(scrape);
  return registry;
}

/** What each family of metrics is registered with: one snapshot per scrape, shared. */
interface Scrape {
  add: (m: ScrapedMetric | ScrapedHistogram) => void;
  /** Adds a metric of one unlabelled sample, read from the snapshot at each scrape. */
  one: (name: string, help: string, type: 'counter' | 'gauge', value: (s: ServerSnapshot) => number) => void;
  snap: () => ServerSnapshot;
  entries: (o: Record<string, number>, label: string) => Sample[];
  server: MetricsBackend;
}

/** Queries, answers and listeners. */
function trafficMetrics({ add, one, snap, entries, server }: Scrape): void {
  add(
    new ScrapedMetric('dnsward_queries_total', 'Queries received, by transport.', 'counter', () =>
      entries(snap().queries, 'transport'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_responses_total',
      'Queries settled, by response type (answered, cached, stale, blocked, …).',
      'counter',
      () => entries(snap().responseTypes, 'type'),
    ),
  );
  add(
    new ScrapedMetric('dnsward_responses_by_rcode_total', 'Answers sent, by rcode.', 'counter', () =>
      entries(snap().rcodes, 'rcode'),
    ),
  );
  add(
    new ScrapedMetric('dnsward_responses_by_qtype_total', 'Answers sent, by query type.', 'counter', () =>
      entries(snap().qtypes, 'qtype'),
    ),
  );
  add(
    new ScrapedMetric('dnsward_malformed_queries_total', 'Malformed queries, by reason.', 'counter', () =>
      entries(snap().malformed, 'reason'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_tcp_connections_closed_total',
      'TCP connections the listener closed or refused, by reason.',
      'counter',
      () => {
        const t = snap().tcp;
        return entries(
          { ...t.closed, refused: t.rejectedConnections, refusedPerClient: t.rejectedPerClient },
          'reason',
        );
      },
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_dot_connections_closed_total',
      'DNS-over-TLS connections the listener closed or refused, by reason (handshake: the TLS handshake failed).',
      'counter',
      () => {
        const t = snap().encrypted.dot;
        return entries(
          {
            ...t.closed,
            refused: t.rejectedConnections,
            refusedPerClient: t.rejectedPerClient,
            handshake: t.handshakeFailures,
          },
          'reason',
        );
      },
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_doh_responses_total',
      'DNS-over-HTTPS requests by HTTP status (200: a DNS answer).',
      'counter',
      () => {
        const d = snap().encrypted.doh;
        return entries({ 200: d.answered, ...d.refused }, 'status');
      },
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_encrypted_connections',
      'Open DNS-over-TLS and DNS-over-HTTPS connections, by transport.',
      'gauge',
      () => {
        const e = snap().encrypted;
        return entries({ tls: e.dot.connections, https: e.doh.connections }, 'transport');
      },
    ),
  );
  one(
    'dnsward_tcp_buffered_bytes',
    'Bytes of TCP answers waiting for clients to read them.',
    'gauge',
    (s) => s.tcp.bufferedBytes,
  );
  add(
    new ScrapedHistogram(
      'dnsward_query_duration_seconds',
      'Time from receiving a query to sending its answer (client-facing latency).',
      () => [{ labels: {}, histogram: server.stats.latency }],
    ),
  );
}

/** Self-defence: rate limits, cookies, dynamic blocks, floods, overload, per-zone caps. */
function defenceMetrics({ add, one, snap, entries }: Scrape): void {
  add(
    new ScrapedMetric(
      'dnsward_rate_limited_total',
      "UDP queries over their client prefix's rate limit (defence.clientRate), by the action taken: drop, refused or truncate.",
      'counter',
      () => entries(snap().defence.clientRate.limited, 'action'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_response_rate_limited_total',
      'UDP answers over their (client prefix, response) rate (defence.responseRate), by action: drop, or slip (sent TC=1).',
      'counter',
      () => entries(snap().defence.responseRate.limited, 'action'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_dns_cookies_total',
      'Queries carrying a DNS cookie, by what it was: clientOnly, valid, invalid (server cookie not ours or stale), malformed.',
      'counter',
      () => entries(snap().defence.cookies.received, 'cookie'),
    ),
  );
  one(
    'dnsward_dynamic_blocks_active',
    'Client prefixes under a dynamic block now (defence.dynamicBlocks).',
    'gauge',
    (s) => s.dynamicBlocks.active,
  );
  one(
    'dnsward_dynamic_blocks_started_total',
    'Dynamic blocks started (a client prefix passed a rule), since start.',
    'counter',
    (s) => s.dynamicBlocks.started,
  );
  add(
    new ScrapedMetric(
      'dnsward_dynamic_blocked_total',
      'Queries answered by a dynamic block, by the rule that made it and its action (drop, refused, truncate, nxdomain).',
      'counter',
      () =>
        Object.entries(snap().defence.dynamicBlocks.blocked).flatMap(([rule, byAction]) =>
          Object.entries(byAction).map(([action, value]) => ({ labels: { rule, action }, value: value ?? 0 })),
        ),
    ),
  );
  one(
    'dnsward_minimal_any_total',
    'ANY queries over UDP answered with one HINFO "RFC8482" record (defence.minimalAny).',
    'counter',
    (s) => s.defence.minimalAny.answered,
  );
  one(
    'dnsward_flood_domains_active',
    'Registered domains under a random-subdomain flood now (defence.randomSubdomain): their new names are limited toward the upstreams, not blocked.',
    'gauge',
    (s) => s.flood.flagged,
  );
  add(
    new ScrapedMetric(
      'dnsward_flood_limited_total',
      'New names under a flooded domain over its rate, by the answer: nxdomain (a cached NXDOMAIN above the name, RFC 8020) or servfail; passed went upstream within the rate; would_limit in monitor mode.',
      'counter',
      () => {
        const f = snap().flood;
        return entries(
          { nxdomain: f.limited.nxdomain, servfail: f.limited.servfail, passed: f.passed, would_limit: f.wouldLimit },
          'action',
        );
      },
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_flood_events_total',
      'Random-subdomain floods that began (detected) or ended.',
      'counter',
      () => entries({ detected: snap().flood.detected, ended: snap().flood.ended }, 'kind'),
    ),
  );
  one(
    'dnsward_overload_shed_total',
    'Cache misses REFUSED while their I/O thread was overloaded, because their client sent far more new names than the others (defence.overload).',
    'counter',
    (s) => s.overload.shed,
  );
  one(
    'dnsward_overload_episodes_total',
    "Times an I/O thread's event loop fell behind enough to shed load.",
    'counter',
    (s) => s.overload.episodes,
  );
  one('dnsward_overloaded_threads', 'Data planes (I/O threads) overloaded now.', 'gauge', (s) => s.overload.overloaded);
  one(
    'dnsward_zone_inflight_cap_hits_total',
    'Queries answered SERVFAIL at once because their zone (registered domain) had defence.randomSubdomain.maxZoneInFlight queries waiting on upstreams.',
    'counter',
    (s) => s.flood.zoneCapHits,
  );
  one(
    'dnsward_zone_inflight',
    'Queries waiting on upstreams, as counted for the per-zone cap.',
    'gauge',
    (s) => s.flood.zoneInFlight,
  );
}

/** Local zones. */
function zoneMetrics({ add, one, snap }: Scrape): void {
  add(
    new ScrapedMetric(
      'dnsward_zone_reloads_total',
      'Local zones read again, by zone and result: ok (a changed file or a reload served), refused (a bad file: the running zone stayed).',
      'counter',
      () => snap().zoneReloads.map((r) => ({ labels: { zone: r.zone, result: r.result }, value: r.count })),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_zone_answers_total',
      'Queries answered from local zones, by verdict: answer, cname (a chain inside the zone), wildcard, nodata, nxdomain, refused (zone transfers).',
      'counter',
      () => {
        const { outsideView: _, ...verdicts } = snap().zoneAnswers;
        return Object.entries(verdicts).map(([verdict, value]) => ({ labels: { verdict }, value }));
      },
    ),
  );
  one(
    'dnsward_zone_outside_view_total',
    'Queries for a name in a local zone whose view did not admit the client or listener (they went on as if the zone did not exist).',
    'counter',
    (s) => s.zoneAnswers.outsideView,
  );
}

/** The packet cache. */
function cacheMetrics({ add, one, snap }: Scrape): void {
  one('dnsward_cache_hits_total', 'Packet cache hits.', 'counter', (s) => s.cache.hits);
  one('dnsward_cache_misses_total', 'Packet cache misses.', 'counter', (s) => s.cache.misses);
  add(
    new ScrapedMetric(
      'dnsward_cache_hit_ratio',
      'Cache hits over cache lookups since start (rate(hits)/rate(hits+misses) gives it over a window).',
      'gauge',
      () => {
        const c = snap().cache;
        return [{ labels: {}, value: c.hits + c.misses === 0 ? 0 : c.hits / (c.hits + c.misses) }];
      },
      'average',
    ),
  );
  one('dnsward_cache_entries', 'Entries in the packet cache.', 'gauge', (s) => s.cache.entries);
  one('dnsward_cache_bytes', 'Bytes of answers in the packet cache.', 'gauge', (s) => s.cache.bytes);
}

/** Which build runs, and how reloads went. */
function buildMetrics({ add, one, snap }: Scrape): void {
  add(
    new ScrapedMetric('dnsward_build_info', 'Always 1; the labels say which dnsward and Node.js run.', 'gauge', () => [
      { labels: { version: packageVersion(), nodejs: process.versions.node }, value: 1 },
    ]),
  );
  add(
    new ScrapedMetric(
      'dnsward_config_reloads_total',
      'Configuration reloads, by result (success; failure: the file was refused or applied only in part).',
      'counter',
      () => {
        const r = snap().reloads;
        return [
          { labels: { result: 'success' }, value: r.succeeded },
          { labels: { result: 'failure' }, value: r.failed },
        ];
      },
    ),
  );
  one(
    'dnsward_config_last_reload_successful',
    '1 when the last reload (or the start) applied the configuration, 0 when it was refused.',
    'gauge',
    (s) => (s.reloads.lastOk ? 1 : 0),
  );
  one(
    'dnsward_config_last_reload_success_timestamp_seconds',
    'When the configuration in force was applied.',
    'gauge',
    (s) => s.reloads.lastSuccessAt / 1000,
  );
}

/** Each upstream. */
function upstreamMetrics({ add, snap, server }: Scrape): void {
  const upstream =
    (
      field:
        | 'queries'
        | 'answers'
        | 'timeouts'
        | 'errors'
        | 'latencyAvgMs'
        | 'outstanding'
        | 'inFlightLimited'
        | 'socketOpenFailures'
        | 'timeoutsWhileAnswering'
        | 'connections',
      scale = 1,
    ) =>
    () =>
      snap().upstreams.map((u) => ({ labels: { pool: u.pool, upstream: u.name }, value: u[field] * scale }));
  add(
    new ScrapedMetric(
      'dnsward_upstream_queries_total',
      'Queries sent to each upstream.',
      'counter',
      upstream('queries'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_answers_total',
      'Answers accepted from each upstream.',
      'counter',
      upstream('answers'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_timeouts_total',
      'Tries that timed out, per upstream.',
      'counter',
      upstream('timeouts'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_errors_total',
      'Send and connection errors, per upstream.',
      'counter',
      upstream('errors'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_in_flight_limited_total',
      "Queries refused at once (SERVFAIL or another upstream) because the upstream's sockets had their in-flight limit waiting.",
      'counter',
      upstream('inFlightLimited'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_socket_open_failures_total',
      'Upstream UDP sockets that could not be opened (e.g. no file descriptors left).',
      'counter',
      upstream('socketOpenFailures'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_connections_total',
      'TCP, TLS (DoT) and HTTP/2 (DoH) connections opened to each upstream.',
      'counter',
      upstream('connections'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_timeouts_while_answering_total',
      "Timeouts not counted against the upstream's health: it answered other queries meanwhile.",
      'counter',
      upstream('timeoutsWhileAnswering'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_latency_avg_seconds',
      'Average answer latency of each upstream since start.',
      'gauge',
      upstream('latencyAvgMs', 0.001),
    ),
  );
  add(
    new ScrapedHistogram(
      'dnsward_upstream_duration_seconds',
      'Time from sending a query to an upstream to its answer, per upstream.',
      () => server.upstreamLatencies(),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_outstanding',
      'Queries waiting on each upstream.',
      'gauge',
      upstream('outstanding'),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_upstream_healthy',
      '1 when the upstream is considered healthy.',
      'gauge',
      () => snap().upstreams.map((u) => ({ labels: { pool: u.pool, upstream: u.name }, value: u.healthy ? 1 : 0 })),
      'min',
    ),
  );
}

/** Tunnel Guard, and the I/O threads and brain that run it. */
function guardMetrics({ add, one, snap, server }: Scrape): void {
  const g = () => snap().guard;
  one(
    'dnsward_guard_domain_blocks_started_total',
    'Domain blocks Tunnel Guard started (incidents; a query-only block is not one).',
    'counter',
    () => g().domainBlocks,
  );
  add(
    new ScrapedMetric(
      'dnsward_guard_blocked_queries_total',
      'Queries Tunnel Guard blocked, by why: the query itself, its domain already blocked, or its client quarantined.',
      'counter',
      () => [
        { labels: { scope: 'query' }, value: g().queryBlocks },
        { labels: { scope: 'blocked_domain' }, value: g().blockedByDomain },
        { labels: { scope: 'quarantined_client' }, value: g().quarantined },
      ],
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_blocks_total',
      'Queries answered with a block (or, enforced="false", only reported in monitor mode), by the pipeline stage that decided and its reason.',
      'counter',
      () =>
        snap().blocks.map((b) => ({
          labels: { stage: b.stage, reason: b.reason, enforced: String(b.enforced) },
          value: b.count,
        })),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_guard_answers_total',
      'Block answers Tunnel Guard sent (block mode) and block verdicts it only reported (monitor mode).',
      'counter',
      () => [
        { labels: { enforced: 'true' }, value: g().blocked },
        { labels: { enforced: 'false' }, value: g().wouldBlock },
      ],
    ),
  );
  one(
    'dnsward_guard_fail_open_total',
    'Queries let through because the detector failed.',
    'counter',
    () => g().failOpen,
  );
  add(
    new ScrapedMetric(
      'dnsward_guard_names_total',
      'Queries Tunnel Guard saw, by whether the name was new.',
      'counter',
      () => [
        { labels: { name: 'new' }, value: g().newNames },
        { labels: { name: 'repeat' }, value: g().repeats },
      ],
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_guard_state_entries',
      'Entries of Tunnel Guard state, by kind (bounded by guard.maxDomains, maxClients, maxPairs).',
      'gauge',
      () => [
        { labels: { kind: 'domains' }, value: g().domains },
        { labels: { kind: 'clients' }, value: g().clients },
        { labels: { kind: 'pairs' }, value: g().pairs },
      ],
    ),
  );
  one(
    'dnsward_guard_active_blocks',
    'Registered domains under a Tunnel Guard block now.',
    'gauge',
    () => g().activeBlocks,
  );
  one(
    'dnsward_guard_snapshot_bytes',
    'Size of the last saved Tunnel Guard snapshot.',
    'gauge',
    () => g().snapshots?.lastBytes ?? 0,
  );
  const plane = () => snap().plane;
  one(
    'dnsward_io_threads',
    'I/O threads running the data plane (0: it runs on the main thread).',
    'gauge',
    () => plane()?.threads ?? 0,
  );
  add(
    new ScrapedMetric(
      'dnsward_guard_holds_total',
      'First-contact queries held for the brain, by outcome (weighed in time, or let through unweighed after guard.holdTimeout, or not held because too many were).',
      'counter',
      () => {
        const p = plane();
        return p === null
          ? []
          : [
              { labels: { outcome: 'weighed' }, value: p.held - p.holdTimeouts - p.holding },
              { labels: { outcome: 'timeout' }, value: p.holdTimeouts },
              { labels: { outcome: 'refused' }, value: p.holdsRefused },
            ];
      },
    ),
  );
  one(
    'dnsward_guard_summaries_dropped_total',
    'Query summaries the I/O threads could not hand to the brain (ring full): those queries went unweighed (fail open).',
    'counter',
    () => plane()?.summariesDropped ?? 0,
  );
  one(
    'dnsward_guard_brain_backlog',
    'Query summaries waiting for the brain.',
    'gauge',
    () => plane()?.brainBacklog ?? 0,
  );
  add(
    new ScrapedMetric(
      'dnsward_io_thread_event_loop_delay_seconds',
      "How long an I/O thread's work waited for its event loop over its last report period (about half a second), by thread and quantile: the overload signal.",
      'gauge',
      () =>
        (plane()?.perThread ?? []).flatMap((t) => [
          { labels: { thread: t.index, quantile: '0.5' }, value: t.loopDelayMs.p50 / 1000 },
          { labels: { thread: t.index, quantile: '0.99' }, value: t.loopDelayMs.p99 / 1000 },
          { labels: { thread: t.index, quantile: '1' }, value: t.loopDelayMs.max / 1000 },
        ]),
    ),
  );
  one(
    'dnsward_io_thread_restarts_total',
    'I/O threads that died and were started again.',
    'counter',
    () => plane()?.threadRestarts ?? 0,
  );
  add(
    new ScrapedHistogram(
      'dnsward_guard_detector_seconds',
      'Time Tunnel Guard spent on a new name (repeats are not timed: they cost one filter check).',
      () => [{ labels: {}, histogram: server.guardDetectorTime }],
    ),
  );
}

/** Security events, the query log and dnstap. */
function eventMetrics({ add, one, snap }: Scrape): void {
  one('dnsward_events_published_total', 'Security events published.', 'counter', (s) => s.events.published);
  one(
    'dnsward_events_dropped_total',
    'Security events dropped because the queue was full.',
    'counter',
    (s) => s.events.dropped,
  );
  one('dnsward_events_sink_errors_total', 'Batches a sink failed to take.', 'counter', (s) => s.events.sinkErrors);
  one('dnsward_events_queue_depth', 'Security events waiting for the sinks.', 'gauge', (s) => s.events.queueDepth);
  add(
    new ScrapedMetric(
      'dnsward_events_sink_dropped_total',
      'Security events a sink dropped (its own bounded buffer was full while its receiver was down), per sink.',
      'counter',
      () => snap().events.sinks.map((k) => ({ labels: { sink: k.name }, value: k.dropped })),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_events_sink_buffered',
      'Security events a sink holds for its receiver, per sink.',
      'gauge',
      () => snap().events.sinks.map((k) => ({ labels: { sink: k.name }, value: k.buffered })),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_events_sink_connected',
      '1 when a sink with a connection (syslog TCP/TLS) is connected to its receiver.',
      'gauge',
      () =>
        snap()
          .events.sinks.filter((k) => k.connected !== undefined)
          .map((k) => ({ labels: { sink: k.name }, value: k.connected ? 1 : 0 })),
    ),
  );
  one('dnsward_query_log_rows_total', 'Queries handed to the query log.', 'counter', (s) => s.queryLog.logged);
  one(
    'dnsward_query_log_dropped_total',
    'Queries not logged because the query log writer was behind.',
    'counter',
    (s) => s.queryLog.dropped,
  );
  one(
    'dnsward_query_log_write_errors_total',
    'Query log batches the database refused.',
    'counter',
    (s) => s.queryLog.writeErrors,
  );
  add(
    new ScrapedMetric(
      'dnsward_dnstap_frames_total',
      'dnstap frames, by outcome (sent to the collector or dropped while it was away or behind).',
      'counter',
      () => {
        const d = snap().dnstap;
        return d === null
          ? []
          : [
              { labels: { outcome: 'sent' }, value: d.sent },
              { labels: { outcome: 'dropped' }, value: d.dropped },
            ];
      },
    ),
  );
}

/** Response-policy feeds. */
function policyMetrics({ add, one, snap }: Scrape): void {
  const feeds = () => snap().policy.feeds;
  add(
    new ScrapedMetric(
      'dnsward_policy_feed_rules',
      'Rules in force per policy feed (its last good version).',
      'gauge',
      () => feeds().map((f) => ({ labels: { feed: f.name, category: f.category }, value: f.rules })),
      'max',
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_policy_feed_skipped_lines',
      'Lines of the loaded version read but not used, per feed and reason (syntax dnsward does not evaluate, triggers a forwarder cannot see).',
      'gauge',
      () =>
        feeds().flatMap((f) =>
          Object.entries(f.skipped).map(([reason, n]) => ({ labels: { feed: f.name, reason }, value: n })),
        ),
      'max',
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_policy_feed_bad_lines',
      'Lines of the loaded version that are wrong (a bad name, a record that does not parse), per feed.',
      'gauge',
      () => feeds().map((f) => ({ labels: { feed: f.name }, value: f.errors })),
      'max',
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_policy_feed_loaded_timestamp_seconds',
      'When the version in force was loaded, per feed (0: never).',
      'gauge',
      () => feeds().map((f) => ({ labels: { feed: f.name }, value: (f.loadedAt ?? 0) / 1000 })),
      'max',
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_policy_feed_healthy',
      '1 when the last refresh of a feed worked (or found it unchanged), 0 when it failed and the last good version stays in force.',
      'gauge',
      () => feeds().map((f) => ({ labels: { feed: f.name }, value: f.lastError === null ? 1 : 0 })),
      'min',
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_policy_feed_failures_total',
      'Refreshes of a feed that failed (download or refused version), per feed.',
      'counter',
      () => feeds().map((f) => ({ labels: { feed: f.name }, value: f.failures })),
      'max',
    ),
  );
  one(
    'dnsward_policy_errors_total',
    'Policy decisions that threw: the query was let through (fail open).',
    'counter',
    (s) => s.policy.errors,
  );
  one(
    'dnsward_policy_events_held_total',
    'Policy block events not raised because a client (10/s) or all clients (500/s) were over their event rate; the query log keeps the queries.',
    'counter',
    (s) => s.policy.eventsHeld,
  );
}

/** The cluster (`cluster:`): no samples when this node runs alone. */
function clusterMetrics({ add, snap, server }: Scrape): void {
  const cluster = () => snap().cluster;
  const clusterNode = (value: (c: NonNullable<ServerSnapshot['cluster']>) => number) => (): Sample[] => {
    const c = cluster();
    return c === null ? [] : [{ labels: { node: c.node }, value: value(c) }];
  };
  add(
    new ScrapedMetric(
      'dnsward_cluster_connected',
      "Whether this node is connected to the cluster's Redis (1) or deciding alone (0).",
      'gauge',
      clusterNode((c) => (c.connected ? 1 : 0)),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_published_total',
      'Decisions made here written to Redis and published to the other nodes.',
      'counter',
      clusterNode((c) => c.published),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_received_total',
      "Messages read from the cluster's channel (this node's own echoes included).",
      'counter',
      clusterNode((c) => c.received),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_applied_total',
      'Decisions of other nodes applied here (from the channel, or from the shared set at a sync).',
      'counter',
      clusterNode((c) => c.applied),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_dropped_total',
      'Decisions not applied or not sent, by reason: oversize, malformed, expired, future, stale, allowlisted, queue-full, redis-error, over-bound.',
      'counter',
      () => {
        const c = cluster();
        return c === null
          ? []
          : Object.entries(c.dropped).map(([reason, value]) => ({ labels: { node: c.node, reason }, value }));
      },
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_queue_depth',
      'Decisions made here waiting to reach Redis.',
      'gauge',
      clusterNode((c) => c.queueDepth),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_syncs_total',
      "Times the shared set was read and this node's missing decisions written back.",
      'counter',
      clusterNode((c) => c.syncs),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_shared_pairs',
      'Client × domain pairs whose information windows this node shares (learning as one).',
      'gauge',
      clusterNode((c) => c.learning.pairs),
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_learning_total',
      'Pair windows written to and read from Redis, and pairs forgotten past cluster.maxSharedPairs.',
      'counter',
      () => {
        const c = cluster();
        return c === null
          ? []
          : Object.entries(c.learning)
              .filter(([k]) => k !== 'pairs')
              .map(([op, value]) => ({ labels: { node: c.node, op }, value }));
      },
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_fleet_events_total',
      "The fleet console's Redis stream: this node's events written and not written (Redis unreachable or failing, over the size bound), entries read by this console and skipped as malformed.",
      'counter',
      () => {
        const c = cluster();
        return c === null
          ? []
          : Object.entries(c.fleet).map(([op, value]) => ({ labels: { node: c.node, op }, value }));
      },
    ),
  );
  add(
    new ScrapedMetric(
      'dnsward_cluster_disconnects_total',
      'Times the connection to Redis was lost.',
      'counter',
      clusterNode((c) => c.disconnects),
    ),
  );
  add(
    new ScrapedHistogram(
      'dnsward_cluster_lag_seconds',
      'Time from another node sending a decision to its taking effect here.',
      () => {
        const c = cluster();
        const lag = server.clusterLag;
        return c === null || lag === null ? [] : [{ labels: { node: c.node }, histogram: lag }];
      },
    ),
  );
}

export interface MetricsSource {
  contentType: string;
  metrics(): Promise<string>;
}
