/**
 * A lookup service many clients share: an EDR agent's servers ask its vendor's cloud about the
 * same common files' hashes. The first server's first scan trips a budget before any other
 * server has asked anything; once other servers are seen asking labels it asked, the block ends
 * and the domain is taken for a lookup service. A tunnel's labels are unique to its session, so
 * a tunnel is blocked as before, and one client repeating its own labels is not sharing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  restoreGuard,
  restoreGuardParts,
  snapshotGuard,
  snapshotGuardPartsNow,
} from '../../src/guard/guard-snapshot.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { type GuardQuery, TunnelGuard } from '../../src/guard/tunnel-guard.js';
import { generateEdrAgentTraffic } from '../../eval/traffic/edr-agent-traffic.js';
import { HEX, Random } from '../../eval/traffic/random.js';

const T0 = 1_700_000_000;
const q = (ts: number, client: string, qname: string, qtype = 1): GuardQuery => ({
  ts,
  client,
  labels: labelsFromText(qname),
  qtype,
});

function run(guard: TunnelGuard, queries: GuardQuery[]): number[] {
  const blocked: number[] = [];
  queries.forEach((query, i) => {
    if (guard.observe(query).action === 'block') blocked.push(i);
  });
  return blocked;
}

describe('shared lookups', () => {
  it('four servers asking one vendor about the same files are blocked for at most their first hours', () => {
    const guard = new TunnelGuard();
    const day = generateEdrAgentTraffic({
      seed: 21,
      clients: ['10.30.0.11', '10.30.0.12', '10.30.0.13', '10.30.0.14'],
      start: T0,
      durationSeconds: 12 * 3600,
      lookupsPerHour: 250,
    });
    const queries = day.map((g) => q(g.ts, g.client, g.qname, g.qtype));
    const blocked = run(guard, queries);
    const late = blocked.filter((i) => queries[i].ts >= T0 + 4 * 3600);
    assert.equal(
      late.length,
      0,
      `blocked after four hours: ${late.length} of ${queries.filter((x) => x.ts >= T0 + 4 * 3600).length}`,
    );
    assert.ok(blocked.length < queries.length / 4, `blocked ${blocked.length} of ${queries.length}`);
  });

  it('one client repeating its own hash labels under other labels is not sharing', () => {
    const guard = new TunnelGuard();
    const rng = new Random(22);
    const pool = Array.from({ length: 50 }, () => rng.chars(HEX, 32));
    const queries: GuardQuery[] = [];
    for (let i = 0; i < 2000; i++)
      queries.push(q(T0 + i * 1.5, '10.20.0.9', `${rng.pick(pool)}.${rng.chars(HEX, 8)}.t.exfil-example.net`));
    const blocked = run(guard, queries);
    assert.ok(blocked.length > 0 && blocked[0] < 200, `first blocked at ${blocked[0]}`);
    assert.ok(queries.slice(blocked[0]).length - blocked.length <= 1, 'stays blocked (the hour the block lasts)');
  });

  it('a tunnel is blocked as fast, and stays blocked, with a shared lookup service on the network', () => {
    const tunnel = (guard: TunnelGuard, start: number) => {
      const rng = new Random(23);
      const queries: GuardQuery[] = [];
      for (let i = 0; i < 300; i++)
        queries.push(q(start + i * 20, '10.20.0.7', `${rng.chars(HEX, 30)}.${rng.chars(HEX, 30)}.exfil-example.net`));
      const blocked = run(guard, queries);
      return { first: blocked.length === 0 ? Infinity : blocked[0], through: queries.length - blocked.length };
    };
    const alone = tunnel(new TunnelGuard(), T0);
    const withEdr = new TunnelGuard();
    const edr = generateEdrAgentTraffic({
      seed: 24,
      clients: ['10.30.0.11', '10.30.0.12', '10.30.0.13', '10.30.0.14'],
      start: T0,
      durationSeconds: 6 * 3600,
      lookupsPerHour: 250,
    });
    run(
      withEdr,
      edr.map((g) => q(g.ts, g.client, g.qname, g.qtype)),
    );
    const after = tunnel(withEdr, T0 + 6 * 3600);
    assert.ok(Number.isFinite(alone.first), 'blocked without the EDR');
    assert.ok(
      after.first <= alone.first + 2,
      `blocked after ${after.first} names with the EDR, ${alone.first} without`,
    );
    assert.ok(
      after.through <= alone.through + 2,
      `${after.through} names through with the EDR, ${alone.through} without`,
    );
  });

  it('what was learned of sharing survives a snapshot, in both formats', () => {
    const day = generateEdrAgentTraffic({
      seed: 25,
      clients: ['10.30.0.11', '10.30.0.12', '10.30.0.13', '10.30.0.14'],
      start: T0,
      durationSeconds: 6 * 3600,
      lookupsPerHour: 250,
    });
    const queries = day.map((g) => q(g.ts, g.client, g.qname, g.qtype));
    const cut = queries.findIndex((x) => x.ts >= T0 + 2 * 3600);
    const guard = new TunnelGuard();
    run(guard, queries.slice(0, cut));
    const json = new TunnelGuard();
    restoreGuard(json, JSON.parse(JSON.stringify(snapshotGuard(guard))) as never);
    const parts = new TunnelGuard();
    restoreGuardParts(parts, snapshotGuardPartsNow(guard));
    // A label asked before the snapshot by one server and after it by another counts on all three.
    const rest = queries.slice(cut);
    const expected = run(guard, rest);
    assert.deepEqual(run(json, rest), expected);
    assert.deepEqual(run(parts, rest), expected);
    assert.equal(
      json.domains.peek('sentrivex-cloud.net')?.sharedLabels,
      guard.domains.peek('sentrivex-cloud.net')?.sharedLabels,
    );
    assert.equal(
      parts.domains.peek('sentrivex-cloud.net')?.sharedLabels,
      guard.domains.peek('sentrivex-cloud.net')?.sharedLabels,
    );
  });

  it('one host asking its own labels again from other addresses of its /64 is not sharing', () => {
    const guard = new TunnelGuard();
    const rng = new Random(26);
    const queries: GuardQuery[] = [];
    const asked: string[] = [];
    for (let i = 0; i < 1500; i++) {
      // Every other query replays an earlier label from another privacy address of the same /64.
      const replay = i % 2 === 1 && asked.length > 0;
      const label = replay ? rng.pick(asked) : rng.chars(HEX, 32);
      if (!replay) asked.push(label);
      const client = replay ? `2001:db8:1:2:${rng.chars(HEX, 4)}::${rng.chars(HEX, 3)}` : '2001:db8:1:2::7';
      queries.push(q(T0 + i * 2, client, `${label}.${rng.chars(HEX, 6)}.exfil-example.net`));
    }
    const blocked = run(guard, queries);
    assert.ok(blocked.length > 0 && blocked[0] < 200, `first blocked at ${blocked[0]}`);
    // The host's own address stays blocked (the other addresses are other clients to the budgets).
    const own = queries.flatMap((x, i) => (i > blocked[0] && x.client === '2001:db8:1:2::7' ? [i] : []));
    assert.deepEqual(
      own.filter((i) => !blocked.includes(i)),
      [],
    );
    assert.equal(guard.domains.peek('exfil-example.net')?.sharedLabels, 0);
    assert.equal(guard.counters.sharedLifts, 0);
  });
});
