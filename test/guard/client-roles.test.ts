/**
 * Client roles learned from breadth: a web proxy resolving for thousands of users (hash-named
 * CDN and ad names, tenants of SaaS suites, across thousands of registered domains from one
 * client) must not block; the same hash stream from a desktop's pace of domains must, and a
 * tunnel from an ordinary client on the same network as the proxy still blocks as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelsFromText } from '../../src/guard/name-text.js';
import { type GuardQuery, TunnelGuard } from '../../src/guard/tunnel-guard.js';
import { restoreGuard, snapshotGuard } from '../../src/guard/guard-snapshot.js';
import { resolvesForMany } from '../../src/guard/client-role.js';
import { generateWebProxyTraffic } from '../../eval/traffic/web-proxy-traffic.js';
import { HEX, Random } from '../../eval/traffic/random.js';

const T0 = 1_700_000_000;
const PROXY = '10.25.0.80';
const q = (ts: number, client: string, qname: string, qtype = 1): GuardQuery => ({
  ts,
  client,
  labels: labelsFromText(qname),
  qtype,
});

/** Runs queries in order; returns the blocked ones' names. */
function run(guard: TunnelGuard, queries: GuardQuery[]): string[] {
  const blocked: string[] = [];
  for (const query of queries) if (guard.observe(query).action === 'block') blocked.push(query.labels.join('.'));
  return blocked;
}

describe('client roles', () => {
  it('a web proxy resolving for thousands of users blocks nothing in six hours', () => {
    const guard = new TunnelGuard();
    const day = generateWebProxyTraffic({
      seed: 11,
      client: PROXY,
      start: T0,
      durationSeconds: 6 * 3600,
      queriesPerHour: 8000,
    });
    const blocked = run(
      guard,
      day.map((g) => q(g.ts, g.client, g.qname, g.qtype)),
    );
    assert.equal(blocked.length, 0, `blocked: ${blocked.slice(0, 5).join(', ')}`);
  });

  it('the same hash-named stream to one CDN from a desktop is blocked', () => {
    const guard = new TunnelGuard();
    const rng = new Random(12);
    const queries: GuardQuery[] = [];
    // A desktop's pace: a few sites, then 32-hex names under one domain nobody else uses.
    for (let i = 0; i < 20; i++) queries.push(q(T0 + i * 30, '10.20.0.5', `www.site${i}.com`));
    for (let i = 0; i < 200; i++)
      queries.push(q(T0 + 600 + i * 5, '10.20.0.5', `${rng.chars(HEX, 32)}.safe.adnet-example.com`));
    const blocked = run(guard, queries);
    assert.ok(blocked.length > 0, 'a desktop streaming hash names to one domain is blocked');
    assert.ok(queries.findIndex((x) => blocked.includes(x.labels.join('.'))) < 20 + 40, 'within 40 names');
  });

  it('a low-and-slow tunnel from a desktop is blocked as fast with a proxy on the network', () => {
    const tunnel = (guard: TunnelGuard) => {
      const rng = new Random(13);
      const queries: GuardQuery[] = [];
      for (let i = 0; i < 200; i++)
        queries.push(q(T0 + 3600 + i * 30, '10.20.0.7', `${rng.chars(HEX, 20)}.exfil-example.net`));
      const blocked = run(guard, queries);
      return blocked.length === 0 ? Infinity : queries.findIndex((x) => x.labels.join('.') === blocked[0]);
    };
    const alone = tunnel(new TunnelGuard());
    const withProxy = new TunnelGuard();
    run(
      withProxy,
      generateWebProxyTraffic({ seed: 14, client: PROXY, start: T0, durationSeconds: 3600, queriesPerHour: 8000 }).map(
        (g) => q(g.ts, g.client, g.qname, g.qtype),
      ),
    );
    const afterProxy = tunnel(withProxy);
    assert.ok(Number.isFinite(alone), 'blocked without the proxy');
    assert.ok(afterProxy <= alone + 2, `blocked after ${afterProxy} names with the proxy, ${alone} without`);
  });

  it('a desktop meeting new sites for two months is not taken for a resolver', () => {
    // 220 new registered domains a day for 60 days (13,200 in all: past the 9,216 a day's age
    // would need from a count that never decays), then a low-and-slow hex stream of its own.
    const tunnelAfter = (guard: TunnelGuard, start: number) => {
      const rng = new Random(16);
      const queries: GuardQuery[] = [];
      // Poisson timing: no beacon for the interval rule to see, so only the budgets can cut it.
      let ts = start;
      for (let i = 0; i < 200; i++)
        queries.push(q((ts += rng.exp(30)), '10.20.0.9', `${rng.chars(HEX, 20)}.exfil-example.net`));
      const blocked = run(guard, queries);
      return blocked.length === 0 ? Infinity : queries.findIndex((x) => x.labels.join('.') === blocked[0]);
    };
    const fresh = tunnelAfter(new TunnelGuard(), T0);
    const aged = new TunnelGuard();
    const history: GuardQuery[] = [];
    for (let day = 0; day < 60; day++)
      for (let i = 0; i < 220; i++)
        history.push(q(T0 + day * 86400 + 8 * 3600 + i * 120, '10.20.0.9', `www.site-${day}-${i}.com`));
    run(aged, history);
    const afterTwoMonths = tunnelAfter(aged, T0 + 60 * 86400 + 8 * 3600);
    assert.ok(Number.isFinite(fresh), 'blocked on a fresh desktop');
    assert.ok(
      afterTwoMonths <= fresh + 2,
      `blocked after ${afterTwoMonths} names on the two-month-old desktop, ${fresh} on a fresh one`,
    );
  });

  it('a proxy keeps its role across an upgrade from a snapshot without the recent count', () => {
    const guard = new TunnelGuard();
    const hour = generateWebProxyTraffic({
      seed: 17,
      client: PROXY,
      start: T0,
      durationSeconds: 3600,
      queriesPerHour: 8000,
    });
    run(
      guard,
      hour.map((g) => q(g.ts, g.client, g.qname, g.qtype)),
    );
    const end = T0 + 3600;
    assert.ok(resolvesForMany(guard.clients.peek(PROXY), end), 'a resolver before the upgrade');
    // The previous release's snapshot: clients without recentDomains and recentDomainsTs.
    const old = JSON.parse(JSON.stringify(snapshotGuard(guard)), (key: string, value: unknown) =>
      key === 'recentDomains' || key === 'recentDomainsTs' ? undefined : value,
    ) as never;
    const upgraded = new TunnelGuard();
    restoreGuard(upgraded, old);
    assert.ok(resolvesForMany(upgraded.clients.peek(PROXY), end), 'still a resolver after it');
  });
});
