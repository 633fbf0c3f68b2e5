import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALLOW_FACTOR,
  FloodDetector,
  MAX_FLOODS,
  ONSET_FACTOR,
  QUIET_SECONDS,
  YOUNG_SECONDS,
} from '../../src/flood/flood-detector.js';

/** One second of traffic for a domain: `names` new names from `clients` clients, `failures` failure answers; then the tick. */
function second(d: FloodDetector, t: number, domain: string, names: number, failures: number, clients = 1) {
  for (let i = 0; i < names; i++) d.observeNewName(domain, `127.0.1.${(i % clients) + 1}`);
  for (let i = 0; i < failures; i++) d.observeFailure(domain);
  return d.tick(t);
}

describe('FloodDetector', () => {
  it("learns a domain's normal and flags a burst far above it, with the allowed rate from that normal", () => {
    const d = new FloodDetector({ floor: 20 });
    let t = 1000;
    // A busy domain: 15 new names and 8 NXDOMAINs a second, for 20 minutes: under the floor, never flagged.
    for (let i = 0; i < 1200; i++) assert.deepEqual(second(d, t++, 'busy.example', 15, 8), []);
    const normal = d.describe('busy.example').normalNewNames;
    assert.ok(normal > 14 && normal <= 15, `normal ${normal}`);
    // 10× that normal is still not enough below the onset (10× normal = 150/s): 140/s passes.
    assert.deepEqual(second(d, t++, 'busy.example', 140, 80), []);
    // A flood: 400 new names and 300 NXDOMAINs in one second from 100 clients.
    const changes = second(d, t++, 'busy.example', 400, 300, 100);
    assert.equal(changes.length, 1);
    assert.equal(changes[0].kind, 'detected');
    const f = changes[0].flood;
    assert.equal(f.domain, 'busy.example');
    assert.ok(Math.abs(f.allowedRate - ALLOW_FACTOR * normal) < 1, `allowed ${f.allowedRate}`);
    assert.ok(f.onsetClients >= 50, `about ${f.onsetClients} clients`);
    assert.ok(d.isFlooded('busy.example'));
    assert.match(changes[0].reasons[0], /400 new names in one second/);
  });

  it('flags a domain never seen before at ten times the floor, and learns a busy one instead', () => {
    const d = new FloodDetector({ floor: 20 });
    // A busy legitimate domain seen for the first time (or after a restart): 50 new names and 40
    // NXDOMAINs a second, over the floor but under ten times it: learned, never flagged.
    for (let t = 1; t <= YOUNG_SECONDS + 600; t++) assert.deepEqual(second(d, t, 'dnsbl.example', 50, 40), []);
    assert.ok(Math.abs(d.describe('dnsbl.example').normalNewNames - 50) < 2);
    // A flood of a fresh domain: flagged in its first second.
    const changes = second(d, 1000, 'victim.example', 500, 500, 100);
    assert.equal(changes.length, 1);
    assert.equal(changes[0].flood.allowedRate, 20);
    assert.ok(!d.isFlooded('dnsbl.example'));
    // Learned, the busy domain is flagged only at ten times its normal.
    assert.deepEqual(second(d, 1001, 'dnsbl.example', 400, 400), []);
    const allowed = second(d, 1002, 'dnsbl.example', 600, 600)[0].flood.allowedRate;
    assert.ok(allowed >= 100 && allowed < 105, `allowed ${allowed}`);
  });

  it("does not take the first, partial second of a flood for a young domain's normal", () => {
    const d = new FloodDetector({ floor: 20 });
    // The second closes 50 ms into a flood: 150 new names, under a young domain's onset (200).
    assert.deepEqual(second(d, 1, 'victim.example', 150, 120, 100), []);
    const changes = second(d, 2, 'victim.example', 2500, 2500, 100);
    assert.equal(changes.length, 1);
    assert.equal(changes[0].flood.allowedRate, 20, 'a young domain may send the floor');
  });

  it('needs the failures too: many new names that resolve are not a flood', () => {
    const d = new FloodDetector({ floor: 20 });
    let t = 1;
    for (; t <= YOUNG_SECONDS; t++) second(d, t, 'cdn.example', 1, 0);
    assert.deepEqual(second(d, t++, 'cdn.example', 500, 0, 100), []);
    assert.deepEqual(second(d, t++, 'cdn.example', 500, 9, 100), []);
    // Answers come after their queries: a second's failures count for the next second's check too.
    assert.equal(second(d, t++, 'cdn.example', 0, 400).length, 0);
    assert.equal(second(d, t++, 'cdn.example', 500, 0, 100).length, 1);
  });

  it('does not learn a flood as normal, and ends it after QUIET_SECONDS quiet seconds', () => {
    const d = new FloodDetector({ floor: 20 });
    let t = 1;
    for (let i = 0; i < 300; i++) second(d, t++, 'victim.example', 2, 1);
    const before = d.describe('victim.example').normalNewNames;
    assert.equal(second(d, t++, 'victim.example', 1000, 900, 100)[0].kind, 'detected');
    for (let i = 0; i < 60; i++) assert.deepEqual(second(d, t++, 'victim.example', 1000, 900, 100), []);
    assert.equal(d.describe('victim.example').normalNewNames, before, 'normal unchanged during the flood');
    // Still over half the onset rate: not over.
    const onset = Math.max(20, ONSET_FACTOR * before);
    for (let i = 0; i < QUIET_SECONDS * 2; i++)
      assert.deepEqual(second(d, t++, 'victim.example', Math.ceil(onset / 2) + 1, 0), []);
    // Quiet: ends after QUIET_SECONDS seconds in a row.
    for (let i = 0; i < QUIET_SECONDS - 1; i++) assert.deepEqual(second(d, t++, 'victim.example', 2, 1), []);
    const end = second(d, t++, 'victim.example', 2, 1);
    assert.equal(end.length, 1);
    assert.equal(end[0].kind, 'ended');
    assert.ok(end[0].flood.newNames >= 61_000);
    assert.equal(end[0].flood.peakNewNames, 1000);
    assert.ok(!d.isFlooded('victim.example'));
    assert.deepEqual(d.counters.detected, 1);
    assert.deepEqual(d.counters.ended, 1);
  });

  it('flags a domain the moment it reaches its onset when observations bring their time, and counts the second once', () => {
    const d = new FloodDetector({ floor: 20 });
    const onsets: string[] = [];
    d.onOnset = (c) => onsets.push(`${c.kind} ${c.flood.domain} ${c.at}`);
    // Young: onset at 200 new names and 100 failures in the second.
    for (let i = 0; i < 150; i++) d.observeNewName('victim.example', `c${i % 100}`, 5.1);
    for (let i = 0; i < 99; i++) d.observeFailure('victim.example', 5.2);
    for (let i = 0; i < 100; i++) d.observeNewName('victim.example', `c${i % 100}`, 5.3);
    assert.deepEqual(onsets, [], 'failures under their onset');
    d.observeFailure('victim.example', 5.4);
    assert.deepEqual(onsets, ['detected victim.example 5.4']);
    assert.ok(d.isFlooded('victim.example'));
    for (let i = 0; i < 50; i++) d.observeNewName('victim.example', 'c1', 5.5);
    // The tick does not report it again, and the flood counts the whole second once.
    assert.deepEqual(d.tick(6), []);
    assert.equal(d.active()[0].newNames, 300);
    assert.equal(d.active()[0].peakNewNames, 300);
    assert.equal(d.counters.detected, 1);
  });

  it('stays within maxDomains, keeps heavy hitters and flagged domains, forgets idle ones', () => {
    const d = new FloodDetector({ floor: 20, maxDomains: 100 });
    second(d, 1, 'victim.example', 1000, 1000, 100);
    assert.ok(d.isFlooded('victim.example'));
    // A heavy hitter with a learned normal.
    for (let t = 2; t < 12; t++) {
      for (let i = 0; i < 1000; i++) d.observeNewName('victim.example', `c${i % 100}`);
      second(d, t, 'heavy.example', 15, 0);
    }
    assert.ok(d.isFlooded('victim.example'));
    // 10,000 one-name domains in one second: the table never grows past its bound.
    for (let i = 0; i < 10_000; i++) {
      d.observeNewName(`d${i}.example`, '10.0.0.1');
      assert.ok(d.tracked <= 100);
    }
    d.observeNewName('heavy.example', '10.0.0.1');
    assert.ok(d.describe('victim.example').tracked, 'the flagged domain is never evicted');
    assert.ok(d.describe('heavy.example').tracked, 'the heavy hitter stays tracked');
    assert.ok(d.counters.evicted > 9000);
    d.tick(12);
    // One-name domains decay below the idle normal (a running mean while young: about 100 s) and are forgotten.
    for (let t = 13; t < 200; t++) {
      for (let i = 0; i < 1000; i++) d.observeNewName('victim.example', `c${i % 100}`);
      d.observeNewName('heavy.example', '10.0.0.1');
      d.tick(t);
    }
    assert.ok(d.tracked <= 3, `${d.tracked} tracked`);
  });

  it('flags at most MAX_FLOODS domains at once, counting the rest', () => {
    const d = new FloodDetector({ floor: 20, maxDomains: 1000 });
    for (let i = 0; i < MAX_FLOODS + 5; i++) {
      for (let n = 0; n < 300; n++) d.observeNewName(`v${i}.example`, `c${n}`);
      for (let n = 0; n < 300; n++) d.observeFailure(`v${i}.example`);
    }
    const changes = d.tick(1);
    assert.equal(changes.length, MAX_FLOODS);
    assert.equal(d.active().length, MAX_FLOODS);
    assert.equal(d.counters.floodsOverLimit, 5);
  });
});
