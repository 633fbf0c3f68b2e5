/**
 * A mail gateway's day: DKIM keys of tenants of multi-tenant mail providers and 32-character
 * random-token selectors across thousands of sender domains, from one client, must not block;
 * a tunnel dressing its payload as DKIM names under its own domain must still block, within a
 * bounded number of queries, from a laptop and from the gateway itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelsFromText } from '../../src/guard/name-text.js';
import { type GuardQuery, TunnelGuard } from '../../src/guard/tunnel-guard.js';
import { generateMailGatewayTraffic } from '../../eval/traffic/mail-gateway-traffic.js';
import { ALNUM, BASE32, Random } from '../../eval/traffic/random.js';
import { siteName } from '../../eval/traffic/vocabulary.js';

const T0 = 1_700_000_000;
const GATEWAY = '10.25.0.25';
const q = (ts: number, client: string, qname: string, qtype = 16): GuardQuery => ({
  ts,
  client,
  labels: labelsFromText(qname),
  qtype,
});

/** One day of DKIM from one client: tenants under two providers, random-token selectors, DMARC. */
function dkimDay(rng: Random): GuardQuery[] {
  const out: GuardQuery[] = [];
  const providers = ['tenant-mailhost.net', 'mx-tenants-cloud.com'];
  for (let i = 0; i < 1500; i++) {
    const ts = T0 + (i * 86400) / 1500;
    const sender = `${siteName(rng)}${i}.${rng.pick(['com', 'co.uk', 'de', 'org'])}`;
    if (i % 2 === 0) {
      // A tenant: its own subdomain of the provider, selectors spelling its domain.
      const tenant = sender.split('.')[0];
      const dashed = sender.replaceAll('.', '-');
      const provider = providers[i % 4 === 0 ? 0 : 1];
      out.push(q(ts, GATEWAY, `selector1-${dashed}._domainkey.${tenant}.${provider}`));
      out.push(q(ts + 0.01, GATEWAY, `selector2-${dashed}._domainkey.${tenant}.${provider}`));
    } else {
      // A bulk sender: two keys, each a 32-character token.
      out.push(q(ts, GATEWAY, `${rng.chars(ALNUM, 32)}._domainkey.${sender}`));
      out.push(q(ts + 0.01, GATEWAY, `${rng.chars(ALNUM, 32)}._domainkey.${sender}`));
    }
    out.push(q(ts + 0.02, GATEWAY, `_dmarc.${sender}`));
  }
  return out;
}

/** Index of the first blocked query, or -1. */
function firstBlock(guard: TunnelGuard, queries: GuardQuery[]): number {
  for (let i = 0; i < queries.length; i++) if (guard.observe(queries[i]).action === 'block') return i;
  return -1;
}

/** A tunnel putting 63 base32 characters of payload per query in a DKIM selector of its own domain. */
function selectorTunnel(rng: Random, client: string, start: number, count: number): GuardQuery[] {
  return Array.from({ length: count }, (_, i) =>
    q(start + i, client, `${rng.chars(BASE32, 63)}._domainkey.mail-exfil-example.net`),
  );
}

/** The same, payload in the owner (tenant) slot, repeated in the selector as a tenant's is. */
function ownerTunnel(rng: Random, client: string, start: number, count: number): GuardQuery[] {
  return Array.from({ length: count }, (_, i) => {
    const chunk = rng.chars(BASE32, 60);
    return q(start + i, client, `s1-${chunk}._domainkey.${chunk}.tenant-exfil-example.net`);
  });
}

describe('Tunnel Guard and a mail gateway', () => {
  it('blocks none of a day of tenant and random-token DKIM lookups from one client', () => {
    const guard = new TunnelGuard();
    const blocked: string[] = [];
    for (const query of dkimDay(new Random(31))) {
      const v = guard.observe(query);
      if (v.action === 'block') blocked.push(`${query.labels.join('.')}: ${v.reasons.join('; ')}`);
    }
    assert.deepEqual(blocked.slice(0, 3), []);
  });

  it('blocks none of a generated mail gateway day (DKIM, DMARC, SPF, MTA-STS, TLS-RPT, BIMI, DNSBL, URIBL)', () => {
    const traffic = generateMailGatewayTraffic({
      seed: 6161,
      client: GATEWAY,
      start: T0,
      durationSeconds: 86400,
      senders: 3000,
      messagesPerHour: 300,
    });
    const guard = new TunnelGuard();
    const blocked = new Map<string, string>();
    for (const x of traffic) {
      const v = guard.observe(q(x.ts, x.client, x.qname, x.qtype));
      if (v.action === 'block' && !blocked.has(v.domain))
        blocked.set(v.domain, `${x.kind} ${x.qname}: ${v.reasons.join('; ')}`);
    }
    assert.ok(traffic.length > 50_000, `${traffic.length} queries`);
    assert.deepEqual([...blocked.values()].slice(0, 3), []);
  });

  it('still blocks payload in DKIM selectors of its own domain within 12 queries, from a laptop', () => {
    const index = firstBlock(new TunnelGuard(), selectorTunnel(new Random(32), '10.0.0.7', T0, 200));
    assert.ok(index >= 0 && index < 12, `blocked at query ${index}`);
  });

  it('still blocks payload in the tenant slot of DKIM names within 12 queries, from a laptop', () => {
    const index = firstBlock(new TunnelGuard(), ownerTunnel(new Random(33), '10.0.0.8', T0, 200));
    assert.ok(index >= 0 && index < 12, `blocked at query ${index}`);
  });

  it('still blocks payload in DKIM selectors within 12 queries from the mail gateway after its day', () => {
    const guard = new TunnelGuard();
    for (const query of dkimDay(new Random(34))) guard.observe(query);
    assert.ok(guard.clients.peek(GATEWAY)!.serviceDomains > 1000, 'the gateway has its role');
    const index = firstBlock(guard, selectorTunnel(new Random(35), GATEWAY, T0 + 86400, 200));
    assert.ok(index >= 0 && index < 12, `blocked at query ${index}`);
  });
});
