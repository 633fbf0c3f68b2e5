/** The parts the stages are built from: query-type surprise, templates, name text, the seen-name filter, log histograms. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { knownEncoder } from '../../src/guard/known-encoders.js';
import { LogHistogram } from '../../src/guard/log-histogram.js';
import { anatomize } from '../../src/guard/name-anatomy.js';
import { subdomainShape } from '../../src/guard/name-template.js';
import { presentName } from '../../src/dns/name.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { QtypeModel } from '../../src/guard/qtype-model.js';
import { SeenNames } from '../../src/guard/seen-names.js';

describe('query-type model (stage 1)', () => {
  it('finds a type the network never asks for surprising, and a common one not', () => {
    const m = new QtypeModel();
    for (let i = 0; i < 10_000; i++) m.learn(i % 10 === 0 ? 28 : 1);
    assert.ok(m.bits(1) < 0.5);
    assert.ok(m.bits(10) > 14, `NULL: ${m.bits(10)} bits`);
    assert.ok(m.bits(10) <= 20, 'capped');
  });
});

describe('subdomain templates (stage 1/3)', () => {
  it('gives fixed-shape hashes one template and varying tunnel chunks several', () => {
    const a = subdomainShape(['9f86d081884c7d659a2feaa0c55ad015', 'rep']);
    const b = subdomainShape(['0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'rep']);
    assert.equal(a.template, b.template);
    assert.notEqual(
      subdomainShape(['mfrggzdfmztwq2lknnwg23tpoa']).template,
      subdomainShape(['mfrggzdfmztwq2lknnwg23tpoaxyz2']).template,
    );
    assert.equal(a.encodedLabels, 1);
  });

  it('buckets reversed IPs of any length as one template', () => {
    assert.equal(subdomainShape(['4', '3', '2', '1']).template, subdomainShape(['254', '13', '200', '10']).template);
  });
});

describe('name text', () => {
  it('round-trips binary labels through presentation text (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 5 }), (raw) => {
        const labels = raw.map((bytes) => Buffer.from(bytes).toString('latin1'));
        assert.deepEqual(labelsFromText(presentName(labels)), labels);
      }),
      { numRuns: 300 },
    );
  });

  it('splits registered domains on the PSL, private suffixes and reverse zones included', () => {
    assert.equal(anatomize(labelsFromText('x.avqs.mcafee.com')).registeredDomain, 'mcafee.com');
    assert.equal(anatomize(labelsFromText('alice.github.io')).registeredDomain, 'alice.github.io');
    assert.equal(anatomize(labelsFromText('4.3.2.1.in-addr.arpa')).registeredDomain, 'in-addr.arpa');
    assert.deepEqual(anatomize(labelsFromText('4.3.2.1.in-addr.arpa')).subdomainLabels, ['4', '3', '2', '1']);
    assert.equal(knownEncoder('e5.sk'), 'ESET LiveGrid reputation');
    assert.equal(knownEncoder('example.com'), undefined);
  });
});

describe('seen-name filter (stage 1)', () => {
  it('never calls a name new twice while it is within capacity (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 30 }), { maxLength: 500 }), (names) => {
        const seen = new SeenNames(16, 1000);
        const expected = new Set<string>();
        for (const n of names) {
          const isNew = seen.addIfNew(n);
          if (expected.has(n)) assert.equal(isNew, false, n);
          expected.add(n);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps false "seen" answers rare at capacity', () => {
    const seen = new SeenNames(16, 4000); // 65,536 bits for 4,000 names
    for (let i = 0; i < 4000; i++) seen.addIfNew(`inserted-${i}`);
    let falseSeen = 0;
    for (let i = 0; i < 10_000; i++) if (!seen.addIfNew(`fresh-${i}`)) falseSeen++;
    // 3 hashes, 2 filters: well under 2% expected.
    assert.ok(falseSeen / 10_000 < 0.02, `${falseSeen} of 10,000`);
  });
});

describe('log histogram (stage 3)', () => {
  it('has monotone quantiles within a quarter octave of the truth (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.1, max: 1e6, noNaN: true }), { minLength: 10, maxLength: 400 }),
        (values) => {
          const h = new LogHistogram();
          for (const v of values) h.add(v);
          const sorted = [...values].sort((a, b) => a - b);
          let previous = 0;
          for (const q of [0.1, 0.5, 0.9, 0.99]) {
            const estimate = h.quantile(q, 0);
            assert.ok(estimate >= previous);
            previous = estimate;
            const truth = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
            assert.ok(
              estimate >= truth * 0.999 && estimate <= truth * 2 ** 0.25 * 1.001,
              `q${q}: ${estimate} vs ${truth}`,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
