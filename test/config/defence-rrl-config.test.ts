/** defence.responseRate, defence.cookies and defence.minimalAny in the configuration: defaults, and errors that name the key. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configProblems, loadConfigText } from '../helpers/config.js';

const load = loadConfigText;
const problems = configProblems;

describe('defence.responseRate, cookies and minimalAny configuration', () => {
  it("has RRL off with BIND's defaults ready, cookies on and not enforced with no secret, minimal ANY on", () => {
    const d = load('{}').defence;
    assert.deepEqual(d.responseRate, {
      enabled: false,
      responsesPerSecond: 20,
      window: 15_000,
      slip: 2,
      ipv4Prefix: 24,
      ipv6Prefix: 56,
      exempt: [],
      maxTracked: 100_000,
    });
    assert.deepEqual(d.cookies, { enabled: true, enforce: false });
    assert.equal(d.minimalAny, true);
    const set = load(
      'defence: { responseRate: { enabled: true, responsesPerSecond: 5, window: 1m, slip: 0 }, cookies: { secret: "E5E973E5A6B2A43F48E7DC849E37BFCF", enforce: true }, minimalAny: false }',
    ).defence;
    assert.equal(set.responseRate.window, 60_000);
    assert.equal(set.responseRate.slip, 0);
    assert.equal(set.cookies.secret, 'E5E973E5A6B2A43F48E7DC849E37BFCF');
    assert.equal(set.minimalAny, false);
  });

  it('names the key and the expectation for each bad value', () => {
    const found = problems(`
defence:
  responseRate: { responsesPerSecond: 0, window: 500ms, slip: 11, ipv4Prefix: 40, exempt: ["nope"], maxTracked: 5 }
  cookies: { secret: "short" }
  minimalAny: yes please
`);
    const has = (key: string, pattern: RegExp) =>
      assert.ok(
        found.some((p) => p.startsWith(`${key}: `) && pattern.test(p)),
        `no problem for ${key} matching ${pattern} in:\n${found.join('\n')}`,
      );
    has('defence.responseRate.responsesPerSecond', /more than 0/);
    has('defence.responseRate.window', /1s to 1h/);
    has('defence.responseRate.slip', /from 0 to 10/);
    has('defence.responseRate.ipv4Prefix', /from 8 to 32/);
    has('defence.responseRate.exempt[0]', /CIDR/);
    has('defence.responseRate.maxTracked', /from 1000/);
    has('defence.cookies.secret', /32 hex digits/);
    has('defence.minimalAny', /.+/);
    assert.equal(found.length, 8);
    assert.deepEqual(problems('defence: { cookies: { required: true } }'), ['defence.cookies: unknown key "required"']);
  });
});
