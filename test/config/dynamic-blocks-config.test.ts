/** defence.dynamicBlocks in the configuration: defaults, a rule set as written, and errors that name the key and what it expects. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configProblems, loadConfigText } from '../helpers/config.js';
import { QType } from '../../src/dns/wire.js';

const load = loadConfigText;
const problems = configProblems;

describe('defence.dynamicBlocks configuration', () => {
  it('is off by default, exempts loopback, and has a default rule set ready for enabled: true alone', () => {
    const d = load('{}').defence.dynamicBlocks;
    assert.equal(d.enabled, false);
    assert.deepEqual(d.exempt, ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(d.rareQtypes, [QType.ANY, 10, QType.AXFR, QType.IXFR, 13]);
    assert.deepEqual(
      d.rules.map((r) => [r.name, r.metric, r.rate, r.window, r.action, r.duration]),
      [
        ['queries', 'queries', 500, 10_000, 'refused', 60_000],
        ['nxdomain', 'nxdomain', 100, 10_000, 'refused', 60_000],
        ['servfail', 'servfail', 100, 10_000, 'refused', 60_000],
        ['rare-qtypes', 'rare-qtypes', 20, 10_000, 'truncate', 60_000],
        ['bytes', 'bytes', 2_000_000, 10_000, 'truncate', 60_000],
      ],
    );
    assert.deepEqual([d.ipv4Prefix, d.ipv6Prefix, d.maxTracked, d.maxBlocks], [32, 64, 100_000, 10_000]);
  });

  it('takes rules as written, naming a rule by its metric when it has no name', () => {
    const d = load(
      'defence: { dynamicBlocks: { enabled: true, exempt: [], rareQtypes: [TXT, 65], rules: [{ metric: nxdomain, rate: 0.5, window: 3s, action: nxdomain, duration: 5m }] } }',
    ).defence.dynamicBlocks;
    assert.deepEqual(d.exempt, []);
    assert.deepEqual(d.rareQtypes, [QType.TXT, 65]);
    assert.deepEqual(d.rules, [
      { name: 'nxdomain', metric: 'nxdomain', rate: 0.5, window: 3000, action: 'nxdomain', duration: 300_000 },
    ]);
  });

  it('names each bad key and what it expects', () => {
    const found = problems(`
defence:
  dynamicBlocks:
    exempt: [nowhere]
    rareQtypes: [BOGUS]
    rules:
      - { metric: qps, rate: 5 }
      - { metric: queries, rate: 0, window: 1500ms, action: block, duration: 2d }
      - { metric: queries, rate: 5 }
`);
    const has = (path: string, message: RegExp) =>
      assert.ok(
        found.some((p) => p.startsWith(`${path}:`) && message.test(p)),
        `${path} ${message} in ${JSON.stringify(found)}`,
      );
    has('defence.dynamicBlocks.exempt[0]', /CIDR/);
    has('defence.dynamicBlocks.rareQtypes[0]', /query type/);
    has('defence.dynamicBlocks.rules[0].metric', /queries/);
    has('defence.dynamicBlocks.rules[1].rate', /more than 0/);
    has('defence.dynamicBlocks.rules[1].window', /whole seconds/);
    has('defence.dynamicBlocks.rules[1].action', /refused/);
    has('defence.dynamicBlocks.rules[1].duration', /1s to 1d/);
  });

  it('refuses two rules of one name', () => {
    assert.deepEqual(
      problems('defence: { dynamicBlocks: { rules: [{ metric: queries, rate: 5 }, { metric: queries, rate: 50 }] } }'),
      ['defence.dynamicBlocks.rules[1].name: two rules are named "queries": give each rule its own name'],
    );
  });
});
