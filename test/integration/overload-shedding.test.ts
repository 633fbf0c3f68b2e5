/**
 * Overload shedding end to end: a running dnsward whose event loop is really behind (the
 * shedder's own monitorEventLoopDelay sees it) refuses the new names of the one client sending
 * far more of them than the others, with the EDE reason, while the other clients' new names and
 * every cached name are answered; with the loop keeping up, the same traffic is not shed. The
 * overload is made by a busy loop on dnsward's thread (the test runs it inline): saturating a
 * shared 2-core machine with real load would make the test depend on the machine, not on dnsward.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundUdpSocket } from '../helpers/dns-client.js';
import { encodeQuery } from '../helpers/packets.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const HEAVY = '127.0.0.2';
const LIGHT = Array.from({ length: 10 }, (_, i) => `127.0.0.${10 + i}`);
const CACHED_FROM = '127.0.0.4';
const REFUSED = 5;
const EDE_TEXT = 'overloaded; this client sends far more new names than the others';

interface Sender {
  ask(name: string): Promise<Buffer | null>;
  close(): void;
}

/** A UDP socket bound to one loopback source address; one query at a time per id. */
async function sender(address: string, port: number): Promise<Sender> {
  const socket = await boundUdpSocket(address);
  const waiting = new Map<number, (b: Buffer | null) => void>();
  let nextId = 1;
  socket.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    waiting.get(id)?.(msg);
    waiting.delete(id);
  });
  return {
    ask(name) {
      const id = nextId++ & 0xffff;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(null);
        }, 3000);
        waiting.set(id, (b) => {
          clearTimeout(timer);
          resolve(b);
        });
        socket.send(encodeQuery(name, 'A', { id, edns: true }), port, '127.0.0.1');
      });
    },
    close: () => socket.close(),
  };
}

interface Outcome {
  heavy: { sent: number; refused: number; withReason: number };
  light: { sent: number; refused: number; unanswered: number };
  cached: { sent: number; answered: number };
}

/**
 * For `seconds`: the heavy client asks new names 8 at a time, each light client one new name
 * every 500 ms, and another client a cached name every 100 ms. Bounded by time and count.
 */
async function traffic(dw: RunningDnsward, tag: string, seconds: number): Promise<Outcome> {
  const heavy = await sender(HEAVY, dw.port);
  const lights = await Promise.all(LIGHT.map((a) => sender(a, dw.port)));
  const cachedClient = await sender(CACHED_FROM, dw.port);
  const out: Outcome = {
    heavy: { sent: 0, refused: 0, withReason: 0 },
    light: { sent: 0, refused: 0, unanswered: 0 },
    cached: { sent: 0, answered: 0 },
  };
  const end = Date.now() + seconds * 1000;
  const heavyLoop = async (lane: number) => {
    for (let i = 0; i < 5000 && Date.now() < end; i++) {
      out.heavy.sent++;
      const r = await heavy.ask(`h${lane}-${i}-${tag}.load.test`);
      if (r !== null && (r[3] & 0xf) === REFUSED) {
        out.heavy.refused++;
        if (r.includes(Buffer.from(EDE_TEXT))) out.heavy.withReason++;
      }
    }
  };
  const lightLoop = async (s: Sender, n: number) => {
    for (let i = 0; i < 200 && Date.now() < end; i++) {
      out.light.sent++;
      const r = await s.ask(`l${n}-${i}-${tag}.load.test`);
      if (r === null) out.light.unanswered++;
      else if ((r[3] & 0xf) === REFUSED) out.light.refused++;
      await sleep(500);
    }
  };
  const cachedLoop = async () => {
    for (let i = 0; i < 200 && Date.now() < end; i++) {
      out.cached.sent++;
      const r = await cachedClient.ask('www.load.test');
      if (r !== null && (r[3] & 0xf) === 0 && r.readUInt16BE(6) === 1) out.cached.answered++;
      await sleep(100);
    }
  };
  await Promise.all([
    ...Array.from({ length: 8 }, (_, lane) => heavyLoop(lane)),
    ...lights.map((s, n) => lightLoop(s, n)),
    cachedLoop(),
  ]);
  for (const s of [heavy, ...lights, cachedClient]) s.close();
  return out;
}

/** Keeps dnsward's (this) thread busy 80 ms of every 100: its event loop falls behind by more than 50 ms. */
function hog(): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + 80;
    while (performance.now() < until);
  }, 100);
  return () => clearInterval(timer);
}

describe('overload shedding, end to end', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['load.test'], records: ['www.load.test. 300 IN A 192.0.2.80'] });
    // Tunnel Guard monitors and the flood stage is off: the new names here are load, and only
    // the shed stage is under test.
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nguard: { mode: monitor }\ndefence: { overload: { delay: 50ms }, randomSubdomain: { enabled: false } }\n`,
    );
    const warm = await sender(CACHED_FROM, dw.port);
    const first = await warm.ask('www.load.test');
    warm.close();
    assert.ok(first !== null && first.readUInt16BE(6) === 1, 'www.load.test answered and cached');
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('keeps up: the same traffic is not shed', async () => {
    const out = await traffic(dw, 'calm', 3);
    const snap = dw.server.snapshot();
    console.log(`# calm: ${JSON.stringify(out)}; overload ${JSON.stringify(snap.overload)}`);
    assert.ok(out.heavy.sent > 100, `${out.heavy.sent} heavy queries sent`);
    assert.equal(out.heavy.refused, 0);
    assert.equal(out.light.refused, 0);
    assert.equal(snap.overload.shed, 0);
  });

  it("behind: the heavy client's new names are refused with the reason, the others' and cached names answered", async () => {
    const stop = hog();
    let out: Outcome;
    try {
      // Two quarter-second samples behind in a row make the overload (the first may straddle the start).
      let overloaded = 0;
      for (let i = 0; i < 20 && overloaded === 0; i++) {
        await sleep(250);
        overloaded = dw.server.snapshot().overload.overloaded;
      }
      assert.equal(overloaded, 1, 'overloaded under the busy loop');
      out = await traffic(dw, 'behind', 3);
    } finally {
      stop();
    }
    const snap = dw.server.snapshot();
    console.log(`# behind: ${JSON.stringify(out)}; overload ${JSON.stringify(snap.overload)}`);
    assert.ok(out.heavy.refused > 0, 'the heavy client was shed');
    assert.equal(out.heavy.withReason, out.heavy.refused, 'every refusal carries the EDE reason');
    assert.equal(out.light.refused, 0, 'no light client was shed');
    assert.equal(out.light.unanswered, 0);
    assert.equal(out.cached.answered, out.cached.sent, 'every cached name answered');
    assert.equal(snap.overload.shed, out.heavy.refused);
    assert.ok(snap.overload.episodes >= 1);
    // The loop keeps up again: overload ends and the heavy client's new names are answered.
    let overloaded = 1;
    for (let i = 0; i < 20 && overloaded === 1; i++) {
      await sleep(250);
      overloaded = dw.server.snapshot().overload.overloaded;
    }
    assert.equal(overloaded, 0, 'overload ended');
    const again = await traffic(dw, 'after', 1);
    assert.equal(again.heavy.refused, 0);
  });
});
