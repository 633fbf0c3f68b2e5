/**
 * Tunnel Guard end to end as a library: each stage's contribution, the decision and its
 * escalation, learning, and the same verdicts after a save and a restore.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restoreGuard, snapshotGuard } from '../../src/guard/guard-snapshot.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { type GuardQuery, TunnelGuard } from '../../src/guard/tunnel-guard.js';
import type { Verdict } from '../../src/guard/verdict.js';
import { Random } from '../../eval/traffic/random.js';

const T0 = 1_700_000_000;
const q = (ts: number, client: string, qname: string, qtype = 1): GuardQuery => ({
  ts,
  client,
  labels: labelsFromText(qname),
  qtype,
});

function base32(rng: Random, n: number): string {
  return rng.chars('abcdefghijklmnopqrstuvwxyz234567', n);
}

/** A tunnel of `count` queries of `chars` base32 characters to `domain`, one per `gap` seconds. */
function tunnel(
  rng: Random,
  client: string,
  domain: string,
  count: number,
  chars: number,
  gap: number,
  qtype = 16,
  start = T0,
): GuardQuery[] {
  return Array.from({ length: count }, (_, i) =>
    q(
      start + i * gap,
      client,
      `${base32(rng, Math.min(chars, 63))}${chars > 63 ? `.${base32(rng, chars - 63)}` : ''}.${domain}`,
      qtype,
    ),
  );
}

function firstBlock(guard: TunnelGuard, queries: GuardQuery[]): { index: number; verdict?: Verdict } {
  for (let i = 0; i < queries.length; i++) {
    const v = guard.observe(queries[i]);
    if (v.action === 'block') return { index: i, verdict: v };
  }
  return { index: -1 };
}

describe('Tunnel Guard', () => {
  it('blocks a bulk tunnel within a few queries, with a five-stage trace, an incident and leaked bytes', () => {
    const guard = new TunnelGuard();
    const { index, verdict } = firstBlock(guard, tunnel(new Random(1), '10.0.0.5', 'exfil-example.com', 50, 100, 0.2));
    assert.ok(index >= 0 && index < 10, `blocked at query ${index}`);
    assert.deepEqual(
      verdict!.stages.map((s) => s.name),
      ['anatomy', 'query', 'state', 'normal', 'decision'],
    );
    assert.equal(verdict!.domain, 'exfil-example.com');
    assert.ok(verdict!.reasons.length > 0);
    assert.ok(verdict!.leakedBytes > 0);
  });

  it('blocks the whole domain for every client once it blocks, then lets it expire and escalates a repeat', () => {
    const guard = new TunnelGuard();
    const rng = new Random(2);
    const first = firstBlock(guard, tunnel(rng, '10.0.0.5', 'c2-example.net', 40, 120, 0.5));
    assert.equal(first.verdict?.scope, 'domain');
    const other = guard.observe(q(T0 + 60, '10.0.0.9', 'www.c2-example.net'));
    assert.equal(other.action, 'block', 'another client is blocked too');
    assert.equal(other.incident, first.verdict!.incident);
    // The first block lasts an hour.
    assert.equal(guard.observe(q(T0 + 3700, '10.0.0.9', 'www.c2-example.net')).action, 'allow');
    const again = firstBlock(guard, tunnel(rng, '10.0.0.5', 'c2-example.net', 40, 120, 0.5, 16, T0 + 4000));
    assert.ok(again.verdict !== undefined);
    const block = guard.activeBlocks(T0 + 4100).find((b) => b.domain === 'c2-example.net')!;
    assert.equal(block.offenses, 2);
    assert.ok(block.until - block.since > 3600, 'the second block lasts longer');
  });

  it('blocks only the flooding client on a domain fifty clients use normally, and the rest keep it', () => {
    const guard = new TunnelGuard();
    const rng = new Random(9);
    const hosts = ['www', 'api', 'mail', 'cdn', 'static', 'img', 'login', 'news'];
    for (let c = 1; c <= 50; c++)
      for (const [i, host] of hosts.slice(0, 3 + (c % 5)).entries())
        guard.observe(q(T0 + c * 10 + i, `10.4.0.${c}`, `${host}.rt.test`));
    const flood = Array.from({ length: 3000 }, (_, i) =>
      q(T0 + 1000 + i * 0.01, '10.4.1.66', `${rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 12)}.rt.test`),
    );
    const { index, verdict } = firstBlock(guard, flood);
    assert.ok(index >= 0, 'the flood is blocked');
    assert.equal(verdict!.scope, 'client-domain', verdict!.reasons.join('; '));
    const t = T0 + 1000 + index * 0.01 + 1;
    assert.match(
      guard.activeBlocks(t)[0].reasons[0],
      /^rt\.test blocked for 10\.4\.1\.66 only until .*: 50 other clients use it normally/,
    );
    // The flooding client has lost rt.test, for new names and names it asked before.
    assert.equal(guard.observe(q(t, '10.4.1.66', 'www.rt.test')).scope, 'client-domain');
    assert.equal(guard.observe(q(t, '10.4.1.66', flood[0].labels.join('.'))).action, 'block');
    // Everyone else keeps it: names seen before and new ones.
    for (let c = 1; c <= 50; c++) {
      assert.equal(guard.observe(q(t, `10.4.0.${c}`, 'www.rt.test')).action, 'allow', `client ${c}`);
      assert.equal(guard.observe(q(t, `10.4.0.${c}`, `host-${c}.rt.test`)).action, 'allow', `client ${c}, a new name`);
    }
    const blocks = guard.activeBlocks(t);
    assert.deepEqual(
      blocks.map((b) => [b.domain, b.scope, b.client]),
      [['rt.test', 'client', '10.4.1.66']],
    );
    // The client-scoped block survives a snapshot and a restore, and lifting the domain's blocks lifts it.
    const restored = new TunnelGuard();
    restoreGuard(restored, JSON.parse(JSON.stringify(snapshotGuard(guard))));
    assert.equal(restored.observe(q(t, '10.4.1.66', 'api.rt.test')).scope, 'client-domain');
    assert.equal(restored.observe(q(t, '10.4.0.7', 'api.rt.test')).action, 'allow');
    assert.equal(restored.unblock('rt.test'), true);
    assert.equal(restored.observe(q(t + 1, '10.4.1.66', 'api.rt.test')).action, 'allow');
  });

  it('still blocks for everyone a domain only a few clients use', () => {
    const guard = new TunnelGuard();
    const rng = new Random(10);
    for (let c = 1; c <= 3; c++) guard.observe(q(T0 + c, `10.5.0.${c}`, 'www.few-users.test'));
    const { verdict } = firstBlock(
      guard,
      Array.from({ length: 3000 }, (_, i) =>
        q(T0 + 100 + i * 0.01, '10.5.1.66', `${rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 12)}.few-users.test`),
      ),
    );
    assert.equal(verdict?.scope, 'domain');
    assert.equal(
      guard.observe(q(T0 + 200, '10.5.0.1', 'www.few-users.test')).action,
      'block',
      'the other clients lose it too',
    );
  });

  it('blocks one oversized query to a domain a few clients use, without blocking the domain', () => {
    const guard = new TunnelGuard();
    const rng = new Random(3);
    for (let c = 1; c <= 4; c++)
      guard.observe(q(T0 + c, `10.0.0.${c}`, `${['www', 'mail', 'api', 'cdn'][c - 1]}.shared-site.org`));
    const big = q(
      T0 + 10,
      '10.0.0.5',
      `${base32(rng, 63)}.${base32(rng, 63)}.${base32(rng, 63)}.${base32(rng, 50)}.shared-site.org`,
      10,
    );
    const v = guard.observe(big);
    assert.equal(v.action, 'block');
    assert.equal(v.scope, 'query', v.reasons.join('; '));
    assert.equal(guard.observe(q(T0 + 11, '10.0.0.1', 'www.shared-site.org')).action, 'allow');
  });

  it('catches low-and-slow exfiltration of 0.1 B/s within an hour', () => {
    const guard = new TunnelGuard();
    const rng = new Random(4);
    const queries = Array.from({ length: 400 }, (_, i) =>
      q(T0 + i * 90, '10.0.0.7', `${rng.chars('0123456789abcdef', 18)}.cdn.slow-drip.info`),
    );
    const { index } = firstBlock(guard, queries);
    assert.ok(index >= 0, 'detected');
    assert.ok(index * 90 <= 3600, `detected after ${index * 90} s`);
  });

  it('catches 0.1 B/s of hex-encoded text in A queries at jittered intervals within an hour', () => {
    // Text is less surprising than random bytes: every name stays under the per-name allowance,
    // so only the stream of names never repeated, to a domain nobody else uses, gives it away.
    const guard = new TunnelGuard();
    const rng = new Random(41);
    const words = [
      'the',
      'report',
      'quarterly',
      'revenue',
      'account',
      'number',
      'customer',
      'contract',
      'invoice',
      'payment',
    ];
    let ts = T0;
    const queries: GuardQuery[] = [];
    for (let i = 0; i < 200; i++) {
      const chunk = rng.int(3, 12);
      let text = '';
      while (text.length < chunk) text += `${rng.pick(words)} `;
      queries.push(
        q(
          ts,
          '10.0.0.17',
          `${Buffer.from(`${String.fromCharCode(i >> 8, i & 255)}${text.slice(0, chunk)}`, 'latin1').toString('hex')}.quiet-drip.info`,
        ),
      );
      ts += (chunk / 0.1) * (0.3 + 1.4 * rng.next());
    }
    let index = -1;
    for (let i = 0; i < queries.length && index < 0; i++) if (guard.observe(queries[i]).action === 'block') index = i;
    assert.ok(index >= 0, 'detected');
    assert.ok(queries[index].ts - T0 <= 3600, `detected after ${Math.round(queries[index].ts - T0)} s`);
  });

  it('leaves a site one person browses alone: its few host names asked again and again over hours', () => {
    const guard = new TunnelGuard();
    const rng = new Random(42);
    const hosts = [
      'www',
      'static',
      'img',
      'img2',
      'cdn',
      'api',
      'login',
      'assets',
      'media',
      'video',
      'fonts',
      'search',
      'shop',
      'news',
      'blog',
      'help',
      'mail',
      'm',
    ];
    let ts = T0;
    for (let i = 0; i < 600; i++) {
      ts += 2 + rng.exp(30);
      const v = guard.observe(q(ts, '10.0.0.18', `${rng.pick(hosts)}.small-hobby-site.net`));
      assert.equal(v.action, 'allow', `query ${i} (${v.reasons.join('; ')})`);
    }
  });

  it('catches regular polls of a rare query type as a beacon', () => {
    const guard = new TunnelGuard();
    const rng = new Random(5);
    const polls = Array.from({ length: 30 }, (_, i) =>
      q(
        T0 + i * 0.2,
        '10.0.0.8',
        `${rng.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 10)}.poll-host.biz`,
        25,
      ),
    );
    const { index, verdict } = firstBlock(guard, polls);
    assert.ok(index >= 0 && index <= 10, `blocked at ${index}`);
    assert.ok(
      verdict!.reasons.some((r) => r.includes('beacon')),
      verdict!.reasons.join('; '),
    );
  });

  it("catches a TXT tunnel's polls (short new names every second) as a beacon before its transfer", () => {
    const guard = new TunnelGuard();
    const rng = new Random(43);
    let counter = 0x3a0;
    const polls = Array.from({ length: 60 }, (_, i) =>
      q(
        T0 + i + rng.next() * 0.4,
        '10.0.0.19',
        `${(counter++).toString(16).padStart(4, '0')}${rng.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 6)}.poll-txt.biz`,
        16,
      ),
    );
    const { index, verdict } = firstBlock(guard, polls);
    assert.ok(index >= 0 && index <= 10, `blocked at ${index}`);
    assert.ok(
      verdict!.reasons.some((r) => r.includes('beacon')),
      verdict!.reasons.join('; '),
    );
  });

  it('recognises a heavy encoder used by many clients with one template, without a list', () => {
    const guard = new TunnelGuard();
    const rng = new Random(6);
    // A reputation service not in the documented list: 20 clients, 60 lookups an hour each, all day.
    let blocked = 0;
    let last: Verdict | undefined;
    for (let t = 0; t < 86400; t += 3) {
      const client = `10.1.0.${rng.int(1, 20)}`;
      last = guard.observe(q(T0 + t, client, `${rng.chars('0123456789abcdef', 40)}.rep.avcheck-vendor.com`));
      if (last.action === 'block') blocked++;
    }
    assert.equal(blocked, 0);
    const normal = last!.stages.find((s) => s.name === 'normal')!;
    assert.equal(normal.evidence.recognisedEncoder, true);
  });

  it('treats reverse lookups as one zone and never blocks a busy resolver of them', () => {
    const guard = new TunnelGuard();
    const rng = new Random(7);
    let blocked = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = guard.observe(
        q(
          T0 + i * 0.5,
          '10.0.0.25',
          `${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 223)}.in-addr.arpa`,
          12,
        ),
      );
      assert.equal(v.domain, 'in-addr.arpa');
      if (v.action === 'block') blocked++;
    }
    assert.equal(blocked, 0);
  });

  it('never makes a client suspect for one large TXT answer (SPF, site verification)', () => {
    const guard = new TunnelGuard();
    const name = (n: string) => labelsFromText(n);
    guard.observe(q(T0, '10.0.0.4', 'big-records.com', 16));
    guard.observeResponse({
      ts: T0,
      client: '10.0.0.4',
      labels: name('big-records.com'),
      qtype: 16,
      rcode: 0,
      answerSize: 4000,
      payloadBytes: 3900,
    });
    for (const [i, host] of ['www', 'mail', 'pipelined-miss', 'api', 'static'].entries()) {
      const v = guard.observe(q(T0 + 1 + i, '10.0.0.4', `${host}.big-records.com`));
      assert.equal(v.action, 'allow', `${host}: ${v.reasons.join('; ')}`);
    }
  });

  it('decides identically when the run is split by a snapshot and a restore', () => {
    const rng = new Random(8);
    const queries: GuardQuery[] = [];
    for (let i = 0; i < 6000; i++) {
      const r = rng.next();
      const name =
        r < 0.6
          ? `${rng.pick(['www', 'mail', 'api', 'cdn'])}.site${rng.int(1, 300)}.com`
          : r < 0.9
            ? `${rng.chars('0123456789abcdef', 32)}.safeframe.ads-example.com`
            : `${base32(rng, 90)}.tunnel-${rng.int(1, 3)}.org`;
      queries.push(q(T0 + i, `10.2.0.${rng.int(1, 30)}`, name, r < 0.9 ? 1 : 16));
    }
    const whole = new TunnelGuard({ seenNameBits: 16 });
    const expected = queries.map((x) => JSON.stringify(whole.observe(x)));
    const first = new TunnelGuard({ seenNameBits: 16 });
    const split = queries.slice(0, 5000).map((x) => JSON.stringify(first.observe(x)));
    const saved = JSON.parse(JSON.stringify(snapshotGuard(first)));
    const second = new TunnelGuard({ seenNameBits: 16 });
    restoreGuard(second, saved);
    split.push(...queries.slice(5000).map((x) => JSON.stringify(second.observe(x))));
    assert.deepEqual(split, expected);
  });

  it('refuses a snapshot that is not one, naming what is wrong', () => {
    assert.throws(
      () => restoreGuard(new TunnelGuard(), { format: 'something-else' } as never),
      /not a dnsward-tunnel-guard-state/,
    );
  });

  it('keeps its maps within their caps', () => {
    const guard = new TunnelGuard({ maxDomains: 1000, maxClients: 100, maxPairs: 2000, seenNameBits: 16 });
    for (let i = 0; i < 20_000; i++) guard.observe(q(T0 + i, `10.3.${i % 250}.${i % 200}`, `www.domain-${i}.com`));
    assert.ok(guard.domains.size <= 1000);
    assert.ok(guard.clients.size <= 100);
    assert.ok(guard.pairs.size <= 2000);
  });
});
