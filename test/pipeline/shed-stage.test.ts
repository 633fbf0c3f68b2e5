/**
 * Overload shedding alone, in the tiny pipeline: while overloaded, the cache misses of a client
 * far above the others' share are REFUSED with the reason; its cached names and the other
 * clients' misses go on; nothing is shed while the plane keeps up. The real event-loop watcher
 * is checked too: a blocked loop makes the plane overloaded, and it recovers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketCache } from '../../src/cache/packet-cache.js';
import { OverloadShedder } from '../../src/defence/overload-shedder.js';
import { ResponseType } from '../../src/pipeline/query-context.js';
import { CacheStage } from '../../src/pipeline/stages/cache-stage.js';
import { ParseStage } from '../../src/pipeline/stages/parse-stage.js';
import { ShedStage } from '../../src/pipeline/stages/shed-stage.js';
import { miniPipeline } from '../helpers/mini-pipeline.js';

const HEAVY = '192.0.2.66';

describe('shed stage alone', () => {
  const setup = () => {
    const shedder = new OverloadShedder({ enabled: true, delay: 50 });
    const cache = new CacheStage(
      new PacketCache({
        maxEntries: 1000,
        maxBytes: 1 << 20,
        minTtl: 0,
        maxTtl: 86400,
        maxNegativeTtl: 3600,
        staleSeconds: 0,
        staleAnswerTtl: 30,
      }),
    );
    return { shedder, ...miniPipeline([new ParseStage(), cache, new ShedStage(shedder)]) };
  };

  it("refuses the heavy client's new names while overloaded, and only those", () => {
    const { shedder, ask, upstream } = setup();
    assert.equal(ask('www.cached.test', 'A', HEAVY).ctx.responseType, ResponseType.ANSWERED);
    shedder.setOverloaded(true);
    for (let c = 1; c <= 10; c++)
      for (let i = 0; i < 3; i++)
        assert.equal(ask(`www.n${i}.light${c}.test`, 'A', `192.0.2.${c}`).ctx.responseType, ResponseType.ANSWERED);
    const results = Array.from({ length: 200 }, (_, i) => ask(`x${i}.flood.test`, 'A', HEAVY));
    const shed = results.filter((r) => r.ctx.responseType === ResponseType.SHED);
    assert.ok(shed.length >= 150, `${shed.length} of 200 shed`);
    assert.equal(shed[0].rcode, 'REFUSED');
    assert.match(shed[0].ctx.reason, /overload: cache miss of a client far above its share/);
    assert.equal(
      ask('www.cached.test', 'A', HEAVY).ctx.responseType,
      ResponseType.CACHED,
      'its cached names are still answered',
    );
    assert.equal(
      ask('www.late.light1.test', 'A', '192.0.2.1').ctx.responseType,
      ResponseType.ANSWERED,
      'a light client still reaches the upstream',
    );
    assert.equal(shedder.counters().shed, shed.length);
    assert.ok(upstream.asked.length < 100);
  });

  it('sheds nothing while the plane keeps up, or when disabled', () => {
    const { shedder, ask } = setup();
    for (let c = 1; c <= 5; c++) ask(`www.a.light${c}.test`, 'A', `192.0.2.${c}`);
    const notOverloaded = Array.from({ length: 100 }, (_, i) => ask(`y${i}.flood.test`, 'A', HEAVY));
    assert.equal(notOverloaded.filter((r) => r.ctx.responseType === ResponseType.SHED).length, 0);
    shedder.setOverloaded(true);
    shedder.configure({ enabled: false, delay: 50 });
    assert.equal(shedder.overloaded, false);
    assert.equal(ask('z.flood.test', 'A', HEAVY).ctx.responseType, ResponseType.ANSWERED);
  });

  it('sees a blocked event loop as overload, and its end', async () => {
    const shedder = new OverloadShedder({ enabled: true, delay: 20 });
    shedder.start();
    try {
      const until = Date.now() + 2000;
      while (!shedder.overloaded && Date.now() < until) {
        const busy = Date.now() + 60;
        while (Date.now() < busy) {
          /* the loop is stuck for 60 ms */
        }
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(shedder.overloaded, true);
      assert.equal(shedder.counters().episodes, 1);
      for (let i = 0; i < 20 && shedder.overloaded; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(shedder.overloaded, false);
    } finally {
      shedder.stop();
    }
  });
});
