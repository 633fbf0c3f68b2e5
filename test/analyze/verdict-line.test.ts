/** The hand-written output line is byte for byte what JSON.stringify writes for the same object. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonString, repeatLine, verdictLine } from '../../src/analyze/verdict-line.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { TunnelGuard } from '../../src/guard/tunnel-guard.js';
import type { Verdict } from '../../src/guard/verdict.js';
import { Random } from '../../eval/traffic/random.js';

function stringified(q: { ts: number; client: string; qname: string; qtype: string }, v: Verdict): string {
  return JSON.stringify({
    ...q,
    domain: v.domain,
    action: v.action,
    score: v.score,
    reasons: v.reasons,
    stages: v.stages,
  });
}

describe('analyze output line', () => {
  it('escapes strings as JSON.stringify does', () => {
    for (const s of [
      'plain',
      'a"b',
      'back\\slash',
      'tab\there',
      '\u0000\u001f',
      'é€',
      '\ud83d\ude00',
      '\ud800lone',
      '',
    ])
      assert.equal(jsonString(s), JSON.stringify(s));
  });

  it('writes every verdict of a guard, blocks and repeats included, as JSON.stringify would', () => {
    const guard = new TunnelGuard();
    const rng = new Random(3);
    let blocks = 0;
    let repeats = 0;
    for (let i = 0; i < 3000; i++) {
      const tunnel = i % 3 === 0;
      const qname = tunnel
        ? `${rng.chars('0123456789abcdef', 60)}.t.exfil-example.net`
        : `www.site${rng.int(1, 40)}.example`;
      const q = { ts: 1_700_000_000 + i * 0.37, client: tunnel ? '10.0.0.9' : `10.0.1.${i % 7}`, qname, qtype: 'A' };
      const v = guard.observe({ ts: q.ts, client: q.client, labels: labelsFromText(qname), qtype: 1 });
      if (v.action === 'block') blocks++;
      const repeat = v.stages.length === 5 && v.stages[1].evidence.newName === false;
      if (repeat) repeats++;
      assert.equal(verdictLine(q, v), stringified(q, v));
      if (repeat) assert.equal(repeatLine(q, v.domain), stringified(q, v));
    }
    assert.ok(blocks > 0, 'the sample has blocks');
    assert.ok(repeats > 0, 'the sample has repeats');
  });

  it('writes non-finite numbers and odd names as JSON.stringify would', () => {
    const v: Verdict = {
      action: 'monitor',
      scope: 'query',
      domain: 'x"y.example',
      score: Number.NaN,
      reasons: ['a "quoted" reason', 'line\nbreak'],
      stages: [
        { name: 'anatomy', score: Infinity, evidence: { domain: 'x', list: ['a', 'b\\c'], flag: true, n: -0 } },
        { name: 'decision', score: 0.25, evidence: {} },
      ],
      leakedBytes: 0,
      firstSeen: 0,
    };
    const q = { ts: 1e21, client: '::1', qname: 'a\\.b.example', qtype: 'TYPE65280' };
    assert.equal(verdictLine(q, v), stringified(q, v));
  });
});
