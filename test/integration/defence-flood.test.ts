/**
 * A flood from 200 source addresses at ten times a legitimate client's rate, against dnsward
 * with per-client rate limits in front of a real unbound: the legitimate client's queries
 * (cached names and new ones) are all answered throughout, the flooders are held to their
 * limit, and the counters say so. Each flooder is a UDP socket bound to its own loopback
 * address (127.0.2.1 to 127.0.2.200). The send loop is bounded by count and by time; no timing
 * is asserted (a slow machine sends the flood more slowly, which changes none of the checks).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { boundUdpSocket } from '../helpers/dns-client.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

const FLOODERS = 200;
/** Rounds of sending, TICK_MS apart: each flooder sends FLOOD_PER_TICK per round, the legitimate client one every LEGIT_EVERY rounds. */
const ROUNDS = 200;
const TICK_MS = 20;
const FLOOD_PER_TICK = 1;
const LEGIT_EVERY = 10;
const RATE = 20;
const BURST = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a flood from 200 sources at ten times the legitimate rate', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test', 'flood.test'],
      records: [
        'www.example.test. 300 IN A 192.0.2.10',
        'mail.example.test. 300 IN A 192.0.2.11',
        'target.flood.test. 300 IN A 192.0.2.66',
      ],
    });
    dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
guard: { mode: off }
defence:
  clientRate: { enabled: true, rate: ${RATE}, burst: ${BURST}, action: drop }
`);
  });
  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('answers every query of the legitimate client while the flooders are held to their limit', async () => {
    const flooders = await Promise.all(Array.from({ length: FLOODERS }, (_, i) => boundUdpSocket(`127.0.2.${i + 1}`)));
    const legit = await boundUdpSocket('127.0.3.1');
    const floodReplies = new Array<number>(FLOODERS).fill(0);
    flooders.forEach((s, i) => s.on('message', () => floodReplies[i]++));
    const legitAnswered = new Set<number>();
    legit.on('message', (msg) => {
      // NOERROR with an answer for the names that exist, NXDOMAIN for the new ones: both are answers.
      const rcode = msg[3] & 0xf;
      if (rcode === 0 || rcode === 3) legitAnswered.add(msg.readUInt16BE(0));
    });
    const flood = encodeQuery('target.flood.test', 'A', { id: 7 });
    let floodSent = 0;
    let legitSent = 0;
    let elapsedS: number | undefined;
    const started = Date.now();
    const deadline = started + 60_000;
    try {
      for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
        for (const s of flooders)
          for (let k = 0; k < FLOOD_PER_TICK; k++) {
            s.send(flood, dw.port, '127.0.0.1');
            floodSent++;
          }
        if (round % LEGIT_EVERY === 0) {
          legitSent++;
          // Cached names and new ones in turn.
          const name =
            legitSent % 2 === 0
              ? legitSent % 4 === 0
                ? 'www.example.test'
                : 'mail.example.test'
              : `new-${legitSent}.example.test`;
          legit.send(encodeQuery(name, 'A', { id: legitSent }), dw.port, '127.0.0.1');
        }
        await sleep(TICK_MS);
      }
      elapsedS = (Date.now() - started) / 1000;
      for (let i = 0; i < 100 && legitAnswered.size < legitSent; i++) await sleep(20);
      await sleep(300); // the last flood answers
    } finally {
      for (const s of [...flooders, legit]) s.close();
    }

    assert.ok(legitSent >= 10, `the legitimate client sent ${legitSent}`);
    assert.equal(
      legitAnswered.size,
      legitSent,
      `every legitimate query was answered (${legitAnswered.size} of ${legitSent})`,
    );
    const snapshot = dw.server.snapshot();
    const dropped = snapshot.defence.clientRate.limited.drop;
    const floodAnswered = floodReplies.reduce((a, b) => a + b, 0);
    // Each flooder sent ten times the legitimate rate; the limit lets through at most its burst
    // plus RATE per second of the flood, and drops and counts the rest.
    const allowed = BURST + Math.ceil(RATE * elapsedS!);
    for (let i = 0; i < FLOODERS; i++)
      assert.ok(
        floodReplies[i] <= allowed,
        `flooder ${i + 1} got ${floodReplies[i]} answers, at most ${allowed} allowed`,
      );
    assert.ok(
      dropped >= floodSent - FLOODERS * allowed,
      `the flood past the limit was dropped: ${dropped} of ${floodSent}`,
    );
    assert.ok(dropped > 0);
    assert.equal(
      floodAnswered + dropped,
      floodSent,
      `every flood query was answered or dropped (answered ${floodAnswered}, dropped ${dropped}, sent ${floodSent})`,
    );
    assert.ok(
      snapshot.defence.clientRate.tracked >= FLOODERS,
      `each flooder has its own bucket (${snapshot.defence.clientRate.tracked})`,
    );
    assert.equal(snapshot.responseTypes['rate-limited'], dropped);
  });
});
