/**
 * A block's end, as the incident timeline reads it: Tunnel Guard's decision stage carries it as
 * data (`blockedUntil`), so the timeline needs the headline's wording only for events written
 * before that evidence existed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { blockEnd } from '../../src/console/routes/incident-routes.js';
import { securityEvent } from '../../src/events/security-event.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { TunnelGuard } from '../../src/guard/tunnel-guard.js';

const NONE = { blocks: [], allows: [], quarantines: [] };

describe('the end of a block', () => {
  it("is in the blocking verdict's decision evidence, and the timeline reads it there", () => {
    const guard = new TunnelGuard();
    const t0 = 1_700_000_000;
    let verdict = guard.observe({ ts: t0, client: '10.0.0.9', labels: labelsFromText('www.exfil.test'), qtype: 1 });
    for (let i = 1; i <= 60 && verdict.action !== 'block'; i++)
      verdict = guard.observe({
        ts: t0 + i,
        client: '10.0.0.9',
        labels: labelsFromText(`${randomBytes(28).toString('hex')}.${randomBytes(20).toString('hex')}.exfil.test`),
        qtype: 16,
      });
    assert.equal(verdict.action, 'block');
    const decision = verdict.stages.find((s) => s.name === 'decision')!;
    const until = decision.evidence.blockedUntil;
    assert.equal(typeof until, 'number');
    assert.equal(until, guard.activeBlocks(t0 + 61).find((b) => b.domain === 'exfil.test')?.until);
    // An event of that verdict, its block no longer in force: the end comes from the evidence.
    const event = securityEvent({
      type: 'domain_blocked',
      severity: 8,
      domain: 'exfil.test',
      incident: verdict.incident,
      reasons: ['a headline whose wording changed'],
      stages: verdict.stages,
    });
    assert.equal(blockEnd(event, NONE), (until as number) * 1000);
  });

  it('falls back to the headline for events written before the evidence existed', () => {
    const event = securityEvent({
      type: 'domain_blocked',
      severity: 8,
      domain: 'old.test',
      incident: 'abc',
      reasons: ['domain blocked until 2026-12-04T10:00:00.000Z (incident abc, offence 1)'],
      stages: [{ name: 'decision', score: 1, evidence: { action: 'block' } }],
    });
    assert.equal(blockEnd(event, NONE), Date.parse('2026-12-04T10:00:00.000Z'));
  });
});
