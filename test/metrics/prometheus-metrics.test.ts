/** `/metrics` scraped over HTTP and read with a Prometheus text-format parser, against real traffic. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

interface Family {
  name: string;
  type: string;
  metrics: Array<{
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
}

describe('Prometheus /metrics', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let configText: string;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    // A feed with two rules, a bad line and a rule dnsward does not evaluate.
    const feed = join(mkdtempSync(join(tmpdir(), 'dnsward-metrics-')), 'ads.txt');
    writeFileSync(feed, '||ads.example.test^\n||tracker.example.test^\n||bad..name^\n/banner/*\n');
    configText = `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nmetrics: { listen: "127.0.0.1:0" }\npolicy:\n  feeds: [{ name: ads, category: ads, path: "${feed}" }]\n  groups: [{ name: everyone, feeds: [ads] }]\n`;
    dw = await startDnsward(configText);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  const scrape = async (): Promise<Map<string, Family>> => {
    const response = await fetch(`http://127.0.0.1:${dw.metricsServer!.boundPort}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const families = parsePrometheusTextFormat(await response.text()) as Family[];
    return new Map(families.map((f) => [f.name, f]));
  };
  const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) => {
    const family = families.get(name);
    assert.ok(family, `${name} is exported`);
    const metric = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    assert.ok(metric, `${name}${JSON.stringify(labels)} is exported`);
    return Number(metric.value ?? metric.count);
  };

  it('counts queries, cache hits, upstream health, latency and Tunnel Guard state', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await dig('127.0.0.1', dw.port, ['www.example.test', 'A'])).status, 'NOERROR');
    const m = await scrape();
    assert.equal(m.get('dnsward_queries_total')!.type, 'COUNTER');
    assert.ok(value(m, 'dnsward_queries_total', { transport: 'udp' }) >= 5);
    assert.ok(value(m, 'dnsward_cache_hits_total') >= 4);
    assert.ok(value(m, 'dnsward_responses_total', { type: 'cached' }) >= 4);
    assert.ok(value(m, 'dnsward_responses_by_rcode_total', { rcode: 'NOERROR' }) >= 5);
    assert.equal(value(m, 'dnsward_upstream_healthy', { upstream: `127.0.0.1:${unbound.port}` }), 1);
    const latency = m.get('dnsward_query_duration_seconds')!;
    assert.equal(latency.type, 'HISTOGRAM');
    assert.ok(Number(latency.metrics[0].count) >= 5);
    assert.equal(latency.metrics[0].buckets!['+Inf'], latency.metrics[0].count);
    assert.ok(value(m, 'dnsward_guard_names_total', { name: 'repeat' }) >= 4, 'repeated names took the fast path');
    assert.ok(value(m, 'dnsward_guard_state_entries', { kind: 'domains' }) >= 1);
    assert.equal(value(m, 'dnsward_guard_fail_open_total'), 0);
    assert.ok(m.has('dnsward_process_resident_memory_bytes') || m.has('dnsward_process_heap_bytes'), 'process metrics');
    const hitRatio = value(m, 'dnsward_cache_hit_ratio');
    assert.ok(hitRatio > 0.5 && hitRatio < 1, `hit ratio ${hitRatio}`);
    const perUpstream = m.get('dnsward_upstream_duration_seconds')!;
    assert.equal(perUpstream.type, 'HISTOGRAM');
    // The parser drops a histogram's own labels, so the per-upstream series is read from the text.
    const text = await (await fetch(`http://127.0.0.1:${dw.metricsServer!.boundPort}/metrics`)).text();
    const count = new RegExp(
      `^dnsward_upstream_duration_seconds_count\\{pool="default",upstream="127\\.0\\.0\\.1:${unbound.port}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    assert.ok(count && Number(count[1]) >= 1, 'one latency histogram per upstream');
  });

  it('describes each policy feed and counts policy blocks', async () => {
    assert.equal((await dig('127.0.0.1', dw.port, ['x.ads.example.test', 'A'])).status, 'NXDOMAIN');
    const m = await scrape();
    assert.equal(value(m, 'dnsward_policy_feed_rules', { feed: 'ads', category: 'ads' }), 2);
    assert.equal(value(m, 'dnsward_policy_feed_bad_lines', { feed: 'ads' }), 1);
    assert.equal(
      value(m, 'dnsward_policy_feed_skipped_lines', { feed: 'ads', reason: 'URL or pattern rule (not a domain rule)' }),
      1,
    );
    assert.equal(value(m, 'dnsward_policy_feed_healthy', { feed: 'ads' }), 1);
    assert.equal(value(m, 'dnsward_policy_feed_failures_total', { feed: 'ads' }), 0);
    assert.ok(
      Math.abs(value(m, 'dnsward_policy_feed_loaded_timestamp_seconds', { feed: 'ads' }) - Date.now() / 1000) < 600,
    );
    assert.equal(value(m, 'dnsward_blocks_total', { stage: 'policy', reason: 'ads', enforced: 'true' }), 1);
    assert.equal(value(m, 'dnsward_policy_errors_total'), 0);
  });

  it('counts Tunnel Guard blocks by scope', async () => {
    const rng = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${rng()}${rng()}${rng()}${rng()}${rng()}${rng()}.${rng()}${rng()}${rng()}${rng()}.leaky-metrics.test`,
        'TXT',
      ]);
    const m = await scrape();
    assert.ok(value(m, 'dnsward_guard_domain_blocks_started_total') >= 1, 'incidents apart from queries');
    assert.ok(
      value(m, 'dnsward_guard_blocked_queries_total', { scope: 'blocked_domain' }) +
        value(m, 'dnsward_guard_blocked_queries_total', { scope: 'query' }) >=
        1,
    );
    assert.ok(value(m, 'dnsward_guard_answers_total', { enforced: 'true' }) >= 1);
    assert.ok(
      value(m, 'dnsward_blocks_total', { stage: 'guard', reason: 'domain_blocked', enforced: 'true' }) >= 1,
      'blocks by stage and reason',
    );
    assert.ok(value(m, 'dnsward_guard_active_blocks') >= 1);
    assert.ok(Number(m.get('dnsward_guard_detector_seconds')!.metrics[0].count) >= 1);
  });

  it('has every metric the Grafana dashboard in docs/ queries', async () => {
    const dashboard = readFileSync(new URL('../../../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const wanted = new Set(
      [...dashboard.matchAll(/\b(dnsward_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')),
    );
    assert.ok(wanted.size >= 20, `${wanted.size} metrics in the dashboard`);
    const exported = await scrape();
    const missing = [...wanted].filter((name) => !exported.has(name));
    assert.deepEqual(missing, []);
    // Every series the dashboard reads is narrowed by its job and instance variables.
    const json = JSON.parse(dashboard) as {
      templating: { list: Array<{ name: string }> };
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    assert.deepEqual(
      json.templating.list.map((v) => v.name),
      ['datasource', 'job', 'instance'],
    );
    const unscoped = json.panels
      .flatMap((p) => p.targets ?? [])
      .flatMap((t) => [...t.expr.matchAll(/\b(dnsward_[a-z0-9_]+)(\{[^}]*\})?/g)])
      .filter((m) => !(m[2] ?? '').includes('job=~"$job"') || !(m[2] ?? '').includes('instance=~"$instance"'))
      .map((m) => m[0]);
    assert.deepEqual(unscoped, []);
  });

  it('says which build runs, names no gauge like a counter, and keeps counters rising across a reload', async () => {
    const before = await scrape();
    assert.equal(value(before, 'dnsward_build_info', { nodejs: process.versions.node }), 1);
    const misnamed = [...before.values()]
      .filter((f) => f.name.endsWith('_total') && f.type !== 'COUNTER')
      .map((f) => f.name);
    assert.deepEqual(misnamed, []);
    const upstream = { upstream: `127.0.0.1:${unbound.port}` };
    const sent = value(before, 'dnsward_upstream_queries_total', upstream);
    assert.ok(sent >= 1);
    // A reload rebuilds the upstream pools, whose own counts start again from zero.
    const raw = parseConfigText(configText.replaceAll('@PORT@', String(dw.port)), 'reload') as Record<string, unknown>;
    await dw.server.reload(
      validateConfig(
        { ...raw, dataDir: dw.dataDir, threads: 0, log: { level: 'silent' }, console: { listen: null } },
        'reload',
      ),
    );
    assert.equal((await dig('127.0.0.1', dw.port, ['new-after-reload.example.test', 'A'])).status, 'NXDOMAIN');
    const after = await scrape();
    assert.ok(
      value(after, 'dnsward_upstream_queries_total', upstream) > sent,
      `${value(after, 'dnsward_upstream_queries_total', upstream)} after ${sent}`,
    );
  });
});
