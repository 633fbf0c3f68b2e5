/**
 * Tunnel Guard and random-subdomain floods: a flood relayed by a few clients (downstream
 * resolvers) trips their encoded-information budgets like a tunnel would. Without the flood
 * detector's flag, the first client to trip it costs the domain for everyone (it has fewer than
 * five other users); with the flag, only that client loses it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TunnelGuard } from '../../src/guard/tunnel-guard.js';

/** 20,000 random names under victim.test from 3 clients, 2,500 a second; the block verdicts by scope. */
function flood(flagged: boolean): Record<string, number> {
  const guard = new TunnelGuard({});
  if (flagged) guard.isFlooded = (domain) => domain === 'victim.test';
  let state = 12345;
  const random = () => {
    let s = '';
    for (let k = 0; k < 12; k++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      s += '0123456789abcdef'[(state >>> 16) & 15];
    }
    return s;
  };
  const scopes: Record<string, number> = {};
  for (let i = 0; i < 20_000; i++) {
    const v = guard.observe({
      ts: 1_700_000_000 + i / 2500,
      client: `127.0.1.${(i % 3) + 1}`,
      labels: [random(), 'victim', 'test'],
      qtype: 1,
    });
    if (v.action === 'block') scopes[v.scope] = (scopes[v.scope] ?? 0) + 1;
  }
  const blocks = guard.activeBlocks(1_700_000_010);
  scopes.blocksForEveryone = blocks.filter((b) => b.scope === 'domain').length;
  return scopes;
}

describe('Tunnel Guard under a random-subdomain flood from 3 clients', () => {
  it('unflagged, blocks the victim domain for everyone (what the flood detector prevents)', () => {
    const scopes = flood(false);
    assert.equal(scopes.blocksForEveryone, 1);
    assert.ok((scopes.domain ?? 0) > 0);
  });

  it('flagged by the flood detector, blocks only the clients that tripped a budget, never the domain', () => {
    const scopes = flood(true);
    assert.equal(scopes.blocksForEveryone, 0);
    assert.equal(scopes.domain ?? 0, 0);
    assert.ok((scopes['client-domain'] ?? 0) > 0);
  });
});
