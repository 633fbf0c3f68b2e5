/**
 * Dynamic blocks, both halves without a server: the data plane's traffic counter, the main
 * thread's rules (rate × window + 1 blocks, rate × window does not; NXDOMAIN rate; expiry, lift),
 * and the defence stage in a real Pipeline answering a blocked prefix with each action, counting
 * answers of every kind (cache hits are answers like any other here) and leaving exempt clients
 * alone. Times are given, not read: nothing here waits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientPrefixKeys, prefixKeyText } from '../../src/defence/client-prefix-keys.js';
import { ClientTrafficCounter, TRAFFIC_METRICS, TrafficMetric } from '../../src/defence/client-traffic-counter.js';
import { type DynamicBlockRule, DynamicBlocks, type DynamicBlockSettings } from '../../src/defence/dynamic-blocks.js';
import { buildRcodeReply } from '../../src/dns/reply.js';
import { QType, Rcode, RcodeName } from '../../src/dns/wire.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { QueryContext, type ReplySink, ResponseType, type Transport } from '../../src/pipeline/query-context.js';
import type { Stage } from '../../src/pipeline/stage.js';
import { type ClientRateSettings, DefenceStage } from '../../src/pipeline/stages/defence-stage.js';
import { ParseStage } from '../../src/pipeline/stages/parse-stage.js';
import { encodeQuery } from '../helpers/packets.js';

const RATE_OFF: ClientRateSettings = {
  enabled: false,
  rate: 1,
  burst: 1,
  ipv4Prefix: 32,
  ipv6Prefix: 64,
  action: 'refused',
  exempt: [],
  maxTracked: 1000,
};
const rule = (r: Partial<DynamicBlockRule> & Pick<DynamicBlockRule, 'metric' | 'rate'>): DynamicBlockRule => ({
  name: r.metric,
  window: 2000,
  action: 'refused',
  duration: 5000,
  ...r,
});
const settings = (rules: DynamicBlockRule[], extra: Partial<DynamicBlockSettings> = {}): DynamicBlockSettings => ({
  enabled: true,
  ipv4Prefix: 32,
  ipv6Prefix: 64,
  exempt: [],
  rareQtypes: [QType.ANY],
  maxTracked: 1000,
  maxBlocks: 100,
  rules,
  ...extra,
});

describe('client prefix keys', () => {
  it('keys IPv4 as integers and IPv6 by prefix, and writes them back as CIDRs', () => {
    const keys = new ClientPrefixKeys(24, 64, ['10.0.0.0/8']);
    assert.equal(keys.keyOf('192.0.2.77'), keys.keyOf('192.0.2.1'));
    assert.equal(typeof keys.keyOf('192.0.2.1'), 'number');
    assert.equal(keys.keyOf('10.1.2.3'), '', 'exempt');
    assert.equal(keys.keyOf('2001:db8:1:2::5'), keys.keyOf('2001:db8:1:2:ffff::1'));
    assert.equal(keys.keyOf('::ffff:192.0.2.9'), keys.keyOf('192.0.2.9'), 'IPv4-mapped is the IPv4 client');
    assert.equal(prefixKeyText(keys.keyOf('192.0.2.77'), 24, 64), '192.0.2.0/24');
    assert.equal(prefixKeyText(keys.keyOf('2001:db8:1:2::5'), 24, 64), '2001:db8:1:2::/64');
    assert.equal(
      prefixKeyText(keys.keyOf('255.1.2.3'), 24, 64),
      '255.1.2.0/24',
      'addresses above 2^31 survive the signed key',
    );
  });
});

describe('client traffic counter', () => {
  it('counts queries, rare types, rcodes and bytes per prefix, and hands them over once', () => {
    const c = new ClientTrafficCounter(100);
    const a = c.countQuery(1, false);
    c.countQuery(1, true);
    c.countAnswer(a, c.generation, Rcode.NXDOMAIN, 100);
    c.countAnswer(c.countQuery(2, false), c.generation, Rcode.SERVFAIL, 50);
    const d = c.take()!;
    const row = (key: number) =>
      Array.from(d.counts.subarray(d.keys.indexOf(key) * TRAFFIC_METRICS, (d.keys.indexOf(key) + 1) * TRAFFIC_METRICS));
    assert.deepEqual(row(1), [2, 1, 0, 100, 1]);
    assert.deepEqual(row(2), [1, 0, 1, 50, 0]);
    assert.equal(c.take(), null, 'taken counts are zeroed');
    c.countQuery(1, false);
    assert.deepEqual(Array.from(c.take()!.counts), [1, 0, 0, 0, 0], 'a tracked prefix counts again after a take');
  });

  it('stays within maxTracked, and keeps the counts of a prefix that moves to the young generation', () => {
    const c = new ClientTrafficCounter(4);
    c.countQuery(1, false);
    c.countQuery(2, false);
    c.countQuery(3, false); // the young generation (2 slots) was full: 1 and 2 are now old
    c.countQuery(1, false); // 1 moves back to a young slot with its count
    assert.ok(c.tracked <= 4);
    const d = c.take()!;
    assert.equal(d.counts[d.keys.indexOf(1) * TRAFFIC_METRICS + TrafficMetric.QUERIES], 2);
    for (let k = 10; k < 100; k++) c.countQuery(k, false);
    assert.ok(c.tracked <= 4, 'bounded');
    assert.ok(c.evictions > 0 && c.lost > 0, 'what was dropped is counted');
  });
});

describe('dynamic block rules', () => {
  const feed = (
    d: DynamicBlocks,
    key: number,
    counts: Partial<Record<keyof typeof TrafficMetric, number>>,
    now: number,
  ) => {
    const row = new Float64Array(TRAFFIC_METRICS);
    for (const [k, v] of Object.entries(counts)) row[TrafficMetric[k as keyof typeof TrafficMetric]] = v;
    d.add({ keys: [key], counts: row }, now);
  };
  const T0 = 1_700_000_000_000;

  it('blocks a prefix that sends rate × window + 1 queries in the window, not one that sends rate × window', () => {
    const started: string[] = [];
    const d = new DynamicBlocks(settings([rule({ metric: 'queries', rate: 5, window: 2000 })]), (b) =>
      started.push(b.prefix),
    );
    const keys = new ClientPrefixKeys(32, 64, []);
    const over = keys.keyOf('192.0.2.1') as number;
    const under = keys.keyOf('192.0.2.2') as number;
    feed(d, over, { QUERIES: 6 }, T0);
    feed(d, over, { QUERIES: 5 }, T0 + 1000);
    feed(d, under, { QUERIES: 10 }, T0 + 1000);
    assert.equal(d.tick(T0 + 1000), true);
    assert.deepEqual(started, ['192.0.2.1/32']);
    const [b] = d.list();
    assert.equal(b.rule, 'queries');
    assert.equal(b.action, 'refused');
    assert.equal(b.until, T0 + 1000 + 5000);
    assert.equal(b.observed, 5.5);
    assert.match(
      b.reason,
      /192\.0\.2\.1\/32 passed dynamic block rule "queries" \(5\.5 queries\/s over 2 s, limit 5\): answered REFUSED for 5 s/,
    );
    assert.equal(d.counters().active, 1);
  });

  it("blocks on the NXDOMAIN rate alone, with the rule's action", () => {
    const d = new DynamicBlocks(
      settings([rule({ metric: 'queries', rate: 1000 }), rule({ metric: 'nxdomain', rate: 2, action: 'nxdomain' })]),
      () => {},
    );
    feed(d, 7, { QUERIES: 5, NXDOMAIN: 5 }, T0);
    assert.equal(d.tick(T0), true);
    assert.equal(d.list()[0].rule, 'nxdomain');
    assert.equal(d.list()[0].action, 'nxdomain');
    feed(d, 8, { QUERIES: 5, NXDOMAIN: 4 }, T0);
    d.tick(T0);
    assert.equal(d.counters().active, 1, '4 NXDOMAIN in 2 s is not over 2/s');
  });

  it('ends a block at its time, extends it while the rule keeps firing, and lifts it on demand', () => {
    const d = new DynamicBlocks(
      settings([rule({ metric: 'queries', rate: 1, window: 1000, duration: 2000 })]),
      () => {},
    );
    feed(d, 9, { QUERIES: 5 }, T0);
    d.tick(T0);
    feed(d, 9, { QUERIES: 5 }, T0 + 1000);
    assert.equal(d.tick(T0 + 1000), true, 'extended');
    assert.equal(d.list()[0].until, T0 + 3000);
    assert.equal(d.tick(T0 + 2500), false, 'quiet, still in force');
    assert.equal(d.tick(T0 + 3000), true, 'ended');
    assert.equal(d.counters().active, 0);
    assert.equal(d.counters().expired, 1);
    assert.equal(d.counters().tracked, 0, 'a quiet prefix is forgotten');

    const keys = new ClientPrefixKeys(32, 64, []);
    feed(d, keys.keyOf('198.51.100.7') as number, { QUERIES: 5 }, T0 + 10_000);
    d.tick(T0 + 10_000);
    assert.throws(() => d.lift('not-an-address'), /expected a client address or CIDR/);
    assert.deepEqual(d.lift('198.51.100.8'), []);
    assert.deepEqual(
      d.lift('198.51.100.0/24').map((b) => b.prefix),
      ['198.51.100.7/32'],
    );
    assert.equal(d.counters().lifted, 1);
    assert.equal(d.tick(T0 + 10_500), false, 'its traffic was forgotten with it: not blocked again at once');
  });

  it('bounds blocks and tracked prefixes', () => {
    const d = new DynamicBlocks(
      settings([rule({ metric: 'queries', rate: 1 })], { maxBlocks: 1, maxTracked: 1000 }),
      () => {},
    );
    for (let k = 0; k < 3; k++) feed(d, k, { QUERIES: 100 }, T0);
    d.tick(T0);
    assert.equal(d.counters().active, 1);
    assert.equal(d.counters().overflow, 2);
  });
});

/** Answers every query that reaches it with `rcode`, standing in for the cache and the upstreams. */
function answerer(rcode: () => number): Stage {
  return {
    name: 'answer',
    onQuery: (ctx, pipeline) =>
      pipeline.respond(
        ctx,
        buildRcodeReply(ctx.request, ctx.query, rcode(), { withQuestion: true }),
        ResponseType.CACHED,
        'test answer',
      ),
  };
}

function stageSetup(
  rules: DynamicBlockRule[],
  extra: Partial<DynamicBlockSettings> = {},
  upstreamRcode: number = Rcode.NOERROR,
) {
  const dyn = settings(rules, extra);
  const defence = new DefenceStage({ clientRate: RATE_OFF, dynamicBlocks: dyn });
  const blocks = new DynamicBlocks(dyn, () => {});
  const sent: Buffer[] = [];
  const sink: ReplySink = { listenerKey: '127.0.0.1:53', send: (_ctx, answer) => sent.push(answer), drop: () => {} };
  const pipeline = new Pipeline([new ParseStage(), defence, answerer(() => upstreamRcode)], [], (stage, error) =>
    assert.fail(`${stage}: ${String(error)}`),
  );
  const query = (client: string, transport: Transport = 'udp', qtype: 'A' | 'ANY' = 'A') => {
    const ctx = new QueryContext(
      encodeQuery('www.example.test', qtype as 'A', { id: 77 }),
      transport,
      client,
      5353,
      sink,
      null,
      performance.now(),
    );
    const before = sent.length;
    pipeline.start(ctx);
    return {
      ctx,
      rcode: sent.length > before ? RcodeName[sent[sent.length - 1][3] & 0xf] : null,
      tc: sent.length > before && (sent[sent.length - 1][2] & 0x02) !== 0,
    };
  };
  /** One second of the main thread's work, done by hand. */
  const weigh = (now: number) => {
    const deltas = defence.takeTraffic();
    if (deltas !== null) blocks.add(deltas, now);
    if (blocks.tick(now)) defence.setDynamicBlocks(blocks.entries());
  };
  return { defence, blocks, query, weigh };
}

describe('defence stage with dynamic blocks', () => {
  const now = Date.now();

  for (const [action, expect] of [
    ['refused', { rcode: 'REFUSED', tc: false }],
    ['nxdomain', { rcode: 'NXDOMAIN', tc: false }],
    ['truncate', { rcode: 'NOERROR', tc: true }],
    ['drop', { rcode: null, tc: false }],
  ] as const) {
    it(`answers a blocked prefix as its rule says (${action}), with a trace and the dynamic-blocked type, and counts it`, () => {
      const { defence, query, weigh } = stageSetup([rule({ metric: 'queries', rate: 2, action })]);
      for (let i = 0; i < 5; i++) assert.equal(query('192.0.2.1').rcode, 'NOERROR');
      for (let i = 0; i < 4; i++) query('192.0.2.2');
      weigh(now);
      const { ctx, rcode, tc } = query('192.0.2.1');
      assert.equal(rcode, expect.rcode);
      assert.equal(tc, expect.tc);
      assert.equal(ctx.responseType, ResponseType.DYNAMIC_BLOCKED);
      assert.equal(ctx.trace?.[0].stage, 'defence');
      assert.equal(ctx.trace?.[0].verdict, `dynamic-block:${action}`);
      assert.match(ctx.reason, /passed dynamic block rule "queries"/);
      assert.equal(query('192.0.2.2').rcode, 'NOERROR', 'a client under the rate is not blocked');
      assert.deepEqual(defence.counters().dynamicBlocks.blocked, { queries: { [action]: 1 } });
      if (action === 'truncate')
        assert.equal(query('192.0.2.1', 'tcp').rcode, 'NOERROR', 'TCP is the way out of a truncate block');
      if (action === 'refused')
        assert.equal(query('192.0.2.1', 'tcp').rcode, 'REFUSED', 'other blocks hold over TCP too');
    });
  }

  it('counts answers: an NXDOMAIN rule blocks a client whose queries get NXDOMAIN', () => {
    const { query, weigh, blocks } = stageSetup([rule({ metric: 'nxdomain', rate: 1 })], {}, Rcode.NXDOMAIN);
    for (let i = 0; i < 3; i++) query('192.0.2.5');
    weigh(now);
    assert.equal(blocks.list()[0]?.prefix, '192.0.2.5/32');
    assert.equal(query('192.0.2.5').rcode, 'REFUSED');
  });

  it('counts rare query types and answer bytes', () => {
    const rare = stageSetup([rule({ metric: 'rare-qtypes', rate: 1 })]);
    for (let i = 0; i < 3; i++) rare.query('192.0.2.6', 'udp', 'A');
    rare.weigh(now);
    assert.equal(rare.blocks.counters().active, 0, 'A is not rare');
    for (let i = 0; i < 3; i++) rare.query('192.0.2.6', 'udp', 'ANY');
    rare.weigh(now + 1);
    assert.equal(rare.blocks.list()[0]?.rule, 'rare-qtypes');
    const bytes = stageSetup([rule({ metric: 'bytes', rate: 40 })]);
    for (let i = 0; i < 3; i++) bytes.query('192.0.2.7');
    bytes.weigh(now);
    assert.equal(bytes.blocks.list()[0]?.rule, 'bytes', '3 answers of 30+ bytes in 2 s is over 40 bytes/s');
  });

  it('never counts or blocks an exempt client', () => {
    const { defence, query, weigh, blocks } = stageSetup([rule({ metric: 'queries', rate: 1 })], {
      exempt: ['192.0.2.9/32'],
    });
    for (let i = 0; i < 20; i++) assert.equal(query('192.0.2.9').rcode, 'NOERROR');
    weigh(now);
    assert.equal(blocks.counters().active, 0);
    assert.equal(defence.counters().dynamicBlocks.exempted, 20);
  });
});
