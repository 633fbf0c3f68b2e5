/**
 * Per-client rate limits (defence.clientRate) end to end: dnsward from configuration text in
 * front of a real unbound, flooded over UDP from one loopback address while others ask too.
 * The limit is 5/s with a burst of 10 and every flood is 40 queries sent at once, so whatever
 * the machine's speed the first 10 are answered, and the counts checked are those the client
 * saw against those dnsward reports (no timing is asserted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { tcpPipeline } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { headerReply, udpBurst } from '../helpers/udp-burst.js';
import { UnboundServer } from '../helpers/unbound.js';

const BURST = 10;
const FLOOD = 40;
const NAME = 'www.example.test';
/** Long enough for every answer on loopback; what has not come by then was dropped. */
const REPLY_WAIT_MS = 1500;

interface Reply {
  rcode: number;
  tc: boolean;
  answers: number;
}

/** Sends `count` queries for NAME at once from `source` (bound on loopback) and collects the replies by ID, waiting at most REPLY_WAIT_MS. */
const flood = (source: string, port: number, count: number): Promise<Map<number, Reply>> =>
  udpBurst(source, port, count, (id) => encodeQuery(NAME, 'A', { id }), headerReply, REPLY_WAIT_MS);

const isAnswer = (r: Reply) => r.rcode === 0 && !r.tc && r.answers > 0;

async function scrapeRateLimited(dw: RunningDnsward): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${dw.metricsServer!.boundPort}/metrics`)).text();
  const families = parsePrometheusTextFormat(text) as Array<{
    name: string;
    metrics: Array<{ labels?: Record<string, string>; value?: string }>;
  }>;
  const family = families.find((f) => f.name === 'dnsward_rate_limited_total');
  assert.ok(family, 'dnsward_rate_limited_total is exported');
  return Object.fromEntries(family.metrics.map((m) => [m.labels?.action ?? '', Number(m.value)]));
}

describe('per-client rate limits in front of unbound', () => {
  let unbound: UnboundServer;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: [`${NAME}. 300 IN A 192.0.2.10`] });
  });
  after(async () => {
    await unbound?.stop();
  });

  it('is off by default, and a reload turns it on', async () => {
    const config = (clientRate: string) =>
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\n${clientRate}`;
    const dw = await startDnsward(config(''));
    try {
      const unlimited = await flood('127.0.0.1', dw.port, FLOOD);
      assert.equal(
        [...unlimited.values()].filter(isAnswer).length,
        FLOOD,
        'no limit without defence.clientRate.enabled',
      );
      assert.equal(dw.server.snapshot().defence.clientRate.enabled, false);
      const text = config(
        `defence: { clientRate: { enabled: true, rate: 5, burst: ${BURST}, action: refused } }\n`,
      ).replace('@PORT@', String(dw.port));
      await dw.server.reload(
        validateConfig(
          { ...(parseConfigText(text, 'reload') as object), dataDir: dw.dataDir, console: { listen: null } },
          'reload',
        ),
      );
      const limited = await flood('127.0.0.1', dw.port, FLOOD);
      const refused = [...limited.values()].filter((r) => r.rcode === 5).length;
      assert.ok(refused > 0, 'limited after the reload');
      assert.equal(dw.server.snapshot().defence.clientRate.limited.refused, refused);
    } finally {
      await dw.stop();
    }
  });

  for (const action of ['refused', 'truncate', 'drop'] as const) {
    describe(`action: ${action}`, () => {
      let dw: RunningDnsward;
      before(async () => {
        dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
metrics: { listen: "127.0.0.1:0" }
defence:
  clientRate: { enabled: true, rate: 5, burst: ${BURST}, action: ${action}, exempt: ["127.0.0.3"] }
`);
      });
      after(async () => {
        await dw?.stop();
      });

      it(`${action === 'drop' ? 'drops' : action === 'refused' ? 'answers REFUSED to' : 'answers TC=1 to'} the queries past the burst, cache hits included, and counts each one`, async () => {
        // The exempt client fills the cache first: every query the flood gets through is then a cache hit.
        const warm = await flood('127.0.0.3', dw.port, 1);
        assert.ok(isAnswer(warm.get(1)!));
        const hitsBefore = dw.server.snapshot().cache.hits;

        const replies = await flood('127.0.0.1', dw.port, FLOOD);
        const answered = [...replies.values()].filter(isAnswer).length;
        const refused = [...replies.values()].filter((r) => r.rcode === 5).length;
        const truncated = [...replies.values()].filter((r) => r.tc).length;
        const unanswered = FLOOD - replies.size;
        const limited = action === 'refused' ? refused : action === 'truncate' ? truncated : unanswered;
        assert.ok(answered >= BURST, `the first ${BURST} are answered (got ${answered})`);
        assert.ok(limited > 0, 'some of the flood is limited');
        assert.equal(
          answered + limited,
          FLOOD,
          `every query is answered or limited as configured (answered ${answered}, refused ${refused}, truncated ${truncated}, unanswered ${unanswered})`,
        );
        for (const r of replies.values())
          if (!isAnswer(r)) assert.equal(r.answers, 0, 'a limited reply carries no records');

        const snapshot = dw.server.snapshot();
        const counters = snapshot.defence.clientRate;
        assert.deepEqual(counters.limited, { drop: 0, refused: 0, truncate: 0, [action]: limited });
        assert.equal(counters.enabled, true);
        assert.ok(counters.tracked >= 1);
        assert.equal(counters.evictions, 0);
        assert.equal(snapshot.responseTypes['rate-limited'], limited);
        // The limit runs before the cache: the limited queries never reached it.
        assert.equal(snapshot.cache.hits - hitsBefore, answered);
        assert.deepEqual(await scrapeRateLimited(dw), { drop: 0, refused: 0, truncate: 0, [action]: limited });
      });

      it('leaves other clients alone while one is limited: another loopback address, and an exempt one', async () => {
        const other = await flood('127.0.0.2', dw.port, 1);
        assert.ok(isAnswer(other.get(1)!), '127.0.0.2 has its own bucket');
        const exempt = await flood('127.0.0.3', dw.port, FLOOD);
        assert.equal([...exempt.values()].filter(isAnswer).length, FLOOD, 'the exempt client is never limited');
        assert.equal(
          dw.server.snapshot().defence.clientRate.exempted,
          FLOOD + 1,
          "the exempt client's queries, the warm-up included, are counted",
        );
      });

      if (action === 'truncate') {
        it('answers the limited client over TCP, which is never limited', async () => {
          const before = dw.server.snapshot().defence.clientRate.limited.truncate;
          const answers = await tcpPipeline(
            '127.0.0.1',
            dw.port,
            Array.from({ length: FLOOD }, (_, i) => encodeQuery(NAME, 'A', { id: 1000 + i })),
            FLOOD,
          );
          for (const a of answers) assert.equal(dnsPacket.decode(a).answers?.length, 1);
          assert.equal(dw.server.snapshot().defence.clientRate.limited.truncate, before);
        });
      }

      it('answers the flooding client again once its bucket refills', async () => {
        // 5 tokens a second: one is back within 200 ms. Bounded: at most 50 tries 100 ms apart.
        let answered = false;
        for (let i = 0; i < 50 && !answered; i++) {
          const reply = await flood('127.0.0.1', dw.port, 1);
          answered = reply.size === 1 && isAnswer(reply.get(1)!);
          if (!answered) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(answered, 'the client is answered again after its bucket refilled');
      });
    });
  }
});
