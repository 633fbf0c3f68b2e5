/** The defence section of the configuration: defaults, and errors that name the key and what it expects. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configProblems, loadConfigText } from '../helpers/config.js';

const load = loadConfigText;
const problems = configProblems;

describe('defence.clientRate configuration', () => {
  it('is off by default, with limits ready for enabled: true alone', () => {
    assert.deepEqual(load('{}').defence.clientRate, {
      enabled: false,
      rate: 100,
      burst: 200,
      ipv4Prefix: 32,
      ipv6Prefix: 64,
      action: 'truncate',
      exempt: [],
      maxTracked: 100_000,
    });
    const c = load(
      'defence: { clientRate: { enabled: true, rate: 0.5, burst: 3, ipv4Prefix: 24, ipv6Prefix: 56, action: refused, exempt: ["10.0.0.0/8", "2001:db8::/32"], maxTracked: 5000 } }',
    ).defence.clientRate;
    assert.deepEqual(c, {
      enabled: true,
      rate: 0.5,
      burst: 3,
      ipv4Prefix: 24,
      ipv6Prefix: 56,
      action: 'refused',
      exempt: ['10.0.0.0/8', '2001:db8::/32'],
      maxTracked: 5000,
    });
  });

  it('names the key and the expectation for each bad value', () => {
    const found = problems(`
defence:
  clientRate:
    rate: 0
    burst: 1.5
    ipv4Prefix: 33
    ipv6Prefix: 16
    action: slow-down
    exempt: ["10.0.0.0/40", "not-an-address"]
    maxTracked: 10
`);
    const has = (key: string, pattern: RegExp) =>
      assert.ok(
        found.some((p) => p.startsWith(`${key}: `) && pattern.test(p)),
        `no problem for ${key} matching ${pattern} in:\n${found.join('\n')}`,
      );
    has('defence.clientRate.rate', /more than 0/);
    has('defence.clientRate.burst', /whole number from 1/);
    has('defence.clientRate.ipv4Prefix', /from 8 to 32/);
    has('defence.clientRate.ipv6Prefix', /from 32 to 128/);
    has('defence.clientRate.action', /drop.*refused.*truncate/);
    has('defence.clientRate.exempt[0]', /CIDR/);
    has('defence.clientRate.exempt[1]', /CIDR/);
    has('defence.clientRate.maxTracked', /from 1000/);
    assert.equal(found.length, 8);
  });

  it('refuses unknown keys in the section', () => {
    assert.deepEqual(problems('defence: { clientRate: { qps: 5 } }'), ['defence.clientRate: unknown key "qps"']);
  });
});
