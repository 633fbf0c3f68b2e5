/**
 * Decisions between nodes without Redis: what a message may carry (parseDecision refuses the
 * malformed and the hostile, saying why) and how another node's decision lands in a guard
 * (newest wins per subject, local allow wins, an unblock lifts only older blocks, a release
 * outlives the quarantine it ended, and a node's whole state crosses to another one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Decision, decisionField, parseDecision } from '../../src/cluster/decision.js';
import { GuardDecisions } from '../../src/cluster/guard-decisions.js';
import { TunnelGuard } from '../../src/guard/tunnel-guard.js';

const now = Date.UTC(2026, 0, 1);
const nowS = now / 1000;

function block(fields: Partial<Decision> = {}): Decision {
  return {
    v: 1,
    id: '0b7e7c2e-1111-4222-8333-944455556666',
    kind: 'block',
    origin: 'a',
    version: now,
    sentAt: now,
    until: nowS + 3600,
    domain: 'tunnel.test',
    scope: 'domain',
    client: '10.0.0.1',
    incident: 'TG-0000beef',
    offenses: 1,
    reason: 'domain blocked',
    ...fields,
  };
}

describe('parseDecision', () => {
  const reason = (m: unknown) => {
    const r = parseDecision(typeof m === 'string' ? m : JSON.stringify(m), now);
    return r.ok ? 'ok' : r.reason;
  };

  it('accepts each kind of decision', () => {
    assert.equal(reason(block()), 'ok');
    assert.equal(reason(block({ scope: 'client' })), 'ok');
    assert.equal(
      reason({ ...block(), kind: 'unblock', scope: undefined, client: undefined, incident: undefined }),
      'ok',
    );
    assert.equal(
      reason({
        v: 1,
        id: 'abcdef12',
        kind: 'allow',
        origin: 'b',
        version: now,
        sentAt: now,
        until: nowS + 60,
        client: '10.0.0.0/8',
      }),
      'ok',
    );
    assert.equal(
      reason({
        v: 1,
        id: 'abcdef12',
        kind: 'quarantine',
        origin: 'b',
        version: now,
        sentAt: now,
        until: nowS + 60,
        client: '2001:db8::/32',
      }),
      'ok',
    );
  });

  it('refuses the malformed and the hostile, saying why', () => {
    assert.equal(reason('{'), 'malformed');
    assert.equal(reason('x'.repeat(5000)), 'oversize');
    assert.equal(reason({ ...block(), extra: 1 }), 'malformed');
    assert.equal(reason(block({ domain: 'com' })), 'malformed', 'a public suffix');
    assert.equal(reason(block({ domain: 'co.uk' })), 'malformed', 'a public suffix of two labels');
    assert.equal(reason(block({ domain: 'www.tunnel.test' })), 'malformed', 'not a registered domain');
    assert.equal(reason(block({ domain: 'Tunnel.test' })), 'malformed', 'not lower case');
    assert.equal(reason(block({ client: '10.0.0.0/8' })), 'malformed', 'a block is for one client address');
    assert.equal(reason(block({ client: undefined })), 'malformed');
    assert.equal(reason(block({ origin: '../etc' })), 'malformed');
    assert.equal(reason(block({ incident: 'x' })), 'malformed');
    assert.equal(reason({ ...block(), kind: 'quarantine', client: 'everyone' }), 'malformed');
    assert.equal(reason(block({ until: nowS - 1 })), 'expired');
    assert.equal(reason(block({ until: nowS + 30 * 86_400 })), 'future', 'longer than any block');
    assert.equal(
      reason(block({ version: now + 3_600_000 })),
      'future',
      'a version from the future would win every later decision',
    );
  });

  it('gives each subject one field', () => {
    assert.equal(decisionField(block()), 'b|tunnel.test');
    assert.equal(decisionField(block({ scope: 'client' })), 'c|10.0.0.1 tunnel.test');
    assert.equal(
      decisionField({ kind: 'quarantine', client: '10.0.0.0/8' }),
      decisionField({ kind: 'release', client: '10.0.0.0/8' }),
    );
  });
});

describe('GuardDecisions.apply', () => {
  it("applies a block as the guard's own, naming its node; the newest version wins", () => {
    const guard = new TunnelGuard({ prior: false });
    const d = new GuardDecisions(guard, 'b');
    assert.equal(d.apply(block(), nowS), 'applied');
    const [b] = guard.activeBlocks(nowS);
    assert.equal(b.domain, 'tunnel.test');
    assert.equal(b.origin, 'a');
    assert.equal(b.incident, 'TG-0000beef');
    assert.equal(d.apply(block(), nowS), 'same');
    assert.equal(d.apply(block({ version: now - 1000 }), nowS), 'stale');
    assert.equal(d.apply(block({ version: now + 1000, offenses: 2, incident: 'TG-0000cafe' }), nowS), 'applied');
    assert.equal(guard.activeBlocks(nowS)[0].offenses, 2, 'an escalation replaces the block');
  });

  it('never blocks a domain allowed here', () => {
    const guard = new TunnelGuard({ prior: false });
    guard.allow({ domain: 'tunnel.test', until: nowS + 60, by: 'op', at: nowS });
    const d = new GuardDecisions(guard, 'b');
    assert.equal(d.apply(block(), nowS), 'allowlisted');
    assert.equal(d.apply(block({ scope: 'client' }), nowS), 'allowlisted');
    guard.allow({ client: '10.9.0.0/16', until: nowS + 60, by: 'op', at: nowS });
    assert.equal(
      d.apply(block({ domain: 'other.test', scope: 'client', client: '10.9.1.1' }), nowS),
      'allowlisted',
      'nor for a client range allowed here',
    );
    assert.equal(guard.activeBlocks(nowS).length, 0);
  });

  it('lifts only blocks older than an unblock, and refuses older blocks after it', () => {
    const guard = new TunnelGuard({ prior: false });
    const d = new GuardDecisions(guard, 'b');
    d.apply(block(), nowS);
    const unblock: Decision = {
      ...block(),
      kind: 'unblock',
      version: now + 500,
      scope: undefined,
      client: undefined,
      incident: undefined,
    };
    assert.equal(d.apply(unblock, nowS), 'applied');
    assert.equal(guard.activeBlocks(nowS).length, 0);
    assert.equal(d.apply(block(), nowS), 'stale', 'the lifted block arriving again (a slow sync) stays lifted');
    assert.equal(d.apply(block({ version: now + 1000 }), nowS), 'applied', 'a new block after the unblock holds');
    assert.equal(
      d.apply({ ...unblock, id: 'abcdef99' }, nowS),
      'same',
      'the older unblock arriving late does not lift it',
    );
    assert.equal(guard.activeBlocks(nowS).length, 1);
  });

  it('a release outlives the quarantine it ended', () => {
    const guard = new TunnelGuard({ prior: false });
    const d = new GuardDecisions(guard, 'b');
    const q: Decision = {
      v: 1,
      id: 'abcdef12',
      kind: 'quarantine',
      origin: 'a',
      version: now,
      sentAt: now,
      until: nowS + 600,
      client: '10.0.0.7',
      by: 'op',
    };
    assert.equal(d.apply(q, nowS), 'applied');
    assert.equal(guard.quarantines[0].origin, 'a');
    assert.equal(d.apply({ ...q, kind: 'release', version: now + 10 }, nowS), 'applied');
    assert.equal(guard.quarantines.length, 0);
    assert.equal(d.apply(q, nowS), 'stale', 'the quarantine from before the release is not applied again');
  });

  it("carries a node's whole state to another", () => {
    const one = new TunnelGuard({ prior: false });
    const a = new GuardDecisions(one, 'a');
    a.apply(block({ origin: 'c' }), nowS);
    one.allow({ domain: 'good.test', until: nowS + 60, by: 'op', at: nowS });
    one.quarantine({ client: '10.0.0.9', until: nowS + 60, by: 'op', at: nowS });
    a.release('10.0.0.10', nowS, 'op');
    const two = new TunnelGuard({ prior: false });
    const b = new GuardDecisions(two, 'b');
    for (const decision of a.current(nowS)) {
      const parsed = parseDecision(JSON.stringify(decision), now);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      b.apply(parsed.decision, nowS);
    }
    assert.deepEqual(
      two.activeBlocks(nowS).map((x) => [x.domain, x.origin]),
      [['tunnel.test', 'c']],
    );
    assert.deepEqual(
      two.overrides.map((o) => [o.domain, o.origin]),
      [['good.test', 'a']],
    );
    assert.deepEqual(
      two.quarantines.map((o) => [o.client, o.origin]),
      [['10.0.0.9', 'a']],
    );
  });
});
