import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeenNames } from '../../src/guard/seen-names.js';
import { TunnelGuard } from '../../src/guard/tunnel-guard.js';
import { SeenFilterReader } from '../../src/plane/seen-filter-reader.js';

/** The wire name as a request holds it (after a 12-byte header), and the guard's key for it. */
function wire(name: string): { request: Uint8Array; end: number; key: string } {
  const bytes: number[] = new Array(12).fill(0);
  for (const l of name.split('.')) bytes.push(l.length, ...Buffer.from(l));
  bytes.push(0);
  const request = Uint8Array.from([...bytes, 0, 1, 0, 1]);
  return { request, end: bytes.length, key: Buffer.from(bytes.slice(12)).toString('latin1').toLowerCase() };
}

describe("the I/O threads' reading of the brain's seen filters", () => {
  it('agrees with the guard on plain repeats: seen names by clients that asked them, case-insensitively', () => {
    const sharedSeen = { names: SeenNames.sharedBuffer(), users: SeenNames.sharedBuffer() };
    const guard = new TunnelGuard({ sharedSeen });
    const reader = new SeenFilterReader(sharedSeen.names, sharedSeen.users);
    const names = Array.from({ length: 200 }, (_, i) => `www${i}.Example${i % 7}.test`);
    const ts = 1_800_000_000;
    for (const [i, n] of names.entries())
      guard.observe({
        ts: ts + i,
        client: '192.0.2.1',
        labels: n.split('.'),
        qtype: 1,
        wireKey: wire(n).key,
        explain: false,
      });
    let repeats = 0;
    for (const n of [...names, ...names.map((x) => x.toUpperCase()), 'never.asked.test']) {
      for (const client of ['192.0.2.1', '192.0.2.2']) {
        const w = wire(n);
        const expected = guard.isPlainRepeat(w.key, client);
        assert.equal(reader.isPlainRepeat(w.request, 12, w.end, client), expected, `${n} from ${client}`);
        if (expected) repeats++;
      }
    }
    assert.ok(
      repeats >= 390,
      `${repeats} plain repeats: the names asked by 192.0.2.1 (a Bloom filter may add a false one)`,
    );
  });

  it("follows the brain's rotation of the filters", () => {
    const buffer = SeenNames.sharedBuffer(16);
    const users = SeenNames.sharedBuffer(16);
    const seen = new SeenNames(16, 100, buffer);
    const pairs = new SeenNames(16, 100, users);
    const reader = new SeenFilterReader(buffer, users, 16);
    const ask = (n: string) => {
      const w = wire(n);
      return reader.isPlainRepeat(w.request, 12, w.end, '192.0.2.1');
    };
    for (let i = 0; i < 250; i++) {
      seen.addIfNew(wire(`n${i}.test`).key);
      pairs.addPairWithLastIfNew('192.0.2.1', seen);
    }
    // 250 names with a capacity of 100: two rotations; the last ~100–200 are still held.
    assert.equal(ask('n249.test'), true);
    assert.equal(ask('n0.test'), false, 'rotated out');
  });
});
