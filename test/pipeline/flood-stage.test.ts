/**
 * The flood stage in a real Pipeline (parse → cache → flood → a stand-in upstream): a flagged
 * domain's new names go upstream at its rate and get SERVFAIL over it (NXDOMAIN when the cache
 * holds an NXDOMAIN for an ancestor, RFC 8020), its cached names are answered, other domains are
 * untouched; and the per-zone cap on queries waiting on upstreams.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { PacketCache } from '../../src/cache/packet-cache.js';
import { CacheStage } from '../../src/pipeline/stages/cache-stage.js';
import { type FloodSettings, FloodStage } from '../../src/pipeline/stages/flood-stage.js';
import { ParseStage } from '../../src/pipeline/stages/parse-stage.js';
import { ResponseType } from '../../src/pipeline/query-context.js';
import { miniPipeline } from '../helpers/mini-pipeline.js';

function setup(settings: Partial<FloodSettings> = {}) {
  const cache = new PacketCache({
    maxEntries: 1000,
    maxBytes: 1 << 20,
    minTtl: 0,
    maxTtl: 86400,
    maxNegativeTtl: 3600,
    staleSeconds: 0,
    staleAnswerTtl: 30,
  });
  const flood = new FloodStage({ enabled: true, mode: 'limit', maxZoneInFlight: 0, ...settings }, cache);
  const { upstream, ask } = miniPipeline([new ParseStage(), new CacheStage(cache), flood]);
  return { flood, upstream, ask };
}

const ede = (answer: dnsPacket.Packet | null) => {
  const opt = answer?.additionals?.find((r) => r.type === 'OPT') as
    { options?: Array<{ code: number; data?: Buffer }> } | undefined;
  const option = opt?.options?.find((o) => o.code === 15);
  return option?.data === undefined ? '' : option.data.subarray(2).toString('utf8');
};

describe('flood stage', () => {
  it('limits new names of a flagged domain to its rate, answers its cached names, leaves other domains alone', () => {
    const { flood, upstream, ask } = setup();
    assert.equal(ask('www.victim.test').rcode, 'NOERROR');
    flood.flags.set([{ domain: 'victim.test', rate: 5, since: 0 }], 1);
    const rcodes: Record<string, number> = {};
    for (let i = 0; i < 50; i++) {
      const r = ask(`r${i}.victim.test`).rcode!;
      rcodes[r] = (rcodes[r] ?? 0) + 1;
    }
    // A full bucket of one second at the flag (5), the rest over it: SERVFAIL.
    assert.equal(upstream.asked.filter((n) => n.endsWith('victim.test') && n !== 'www.victim.test').length, 5);
    assert.deepEqual(rcodes, { NXDOMAIN: 5, SERVFAIL: 45 });
    const limited = ask('r99.victim.test');
    assert.equal(limited.rcode, 'SERVFAIL');
    assert.equal(limited.ctx.responseType, ResponseType.FLOOD_LIMITED);
    assert.match(limited.ctx.reason, /random-subdomain flood on victim\.test/);
    assert.equal(limited.ctx.trace?.[0].stage, 'flood');
    assert.equal(limited.ctx.trace?.[0].verdict, 'limit');
    assert.match(ede(limited.answer), /random-subdomain flood against victim\.test/);
    // The cached name and another domain's names are answered.
    assert.equal(ask('www.victim.test').ctx.responseType, ResponseType.CACHED);
    for (let i = 0; i < 20; i++) assert.equal(ask(`n${i}.other.test`).ctx.responseType, ResponseType.ANSWERED);
    assert.deepEqual(flood.counters().limited, { nxdomain: 0, servfail: 46 });
    assert.equal(flood.counters().passed, 5);
  });

  it('answers NXDOMAIN under a name the cache knows does not exist (RFC 8020)', () => {
    const { flood, ask } = setup();
    assert.equal(ask('gone.victim.test').rcode, 'NXDOMAIN');
    flood.flags.set([{ domain: 'victim.test', rate: 1, since: 0 }], 1);
    ask('a.gone.victim.test');
    const below = ask('b.c.gone.victim.test');
    assert.equal(below.rcode, 'NXDOMAIN');
    assert.equal(below.ctx.trace?.[0].verdict, 'nxdomain');
    assert.match(ede(below.answer), /gone\.victim\.test does not exist \(cached NXDOMAIN, RFC 8020\)/);
    // A name not below it: SERVFAIL.
    assert.equal(ask('x.here.victim.test').rcode, 'SERVFAIL');
    assert.deepEqual(flood.counters().limited, { nxdomain: 1, servfail: 1 });
  });

  it('in monitor mode sends everything upstream and counts what it would have limited', () => {
    const { flood, upstream, ask } = setup({ mode: 'monitor' });
    flood.flags.set([{ domain: 'victim.test', rate: 2, since: 0 }], 1);
    for (let i = 0; i < 10; i++) assert.equal(ask(`r${i}.victim.test`).rcode, 'NXDOMAIN');
    assert.equal(upstream.asked.length, 10);
    assert.equal(flood.counters().wouldLimit, 8);
  });

  it('caps the queries one zone has waiting on upstreams; other zones go on, and the cap frees as answers come', () => {
    const { flood, upstream, ask } = setup({ maxZoneInFlight: 3 });
    upstream.hold = true;
    for (let i = 0; i < 3; i++) assert.equal(ask(`r${i}.slow.test`).rcode, null, 'waiting');
    const capped = ask('r3.slow.test');
    assert.equal(capped.rcode, 'SERVFAIL');
    assert.equal(capped.ctx.responseType, ResponseType.ZONE_LIMITED);
    assert.match(ede(capped.answer), /3 queries for this zone already wait on upstreams/);
    // A subdomain of the same registered domain shares its cap; another domain does not.
    assert.equal(ask('a.b.slow.test').rcode, 'SERVFAIL');
    assert.equal(ask('r0.fast.test').rcode, null);
    assert.equal(flood.counters().zoneCapHits, 2);
    assert.equal(flood.counters().zoneInFlight, 4);
    upstream.held.shift()!();
    assert.equal(flood.counters().zoneInFlight, 3);
    assert.equal(ask('r9.slow.test').rcode, null, 'a slot is free again');
    for (const answer of upstream.held.splice(0)) answer();
    assert.equal(flood.counters().zoneInFlight, 0);
  });
});
