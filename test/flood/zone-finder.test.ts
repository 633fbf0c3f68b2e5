import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZoneFinder } from '../../src/flood/zone-finder.js';
import { suffixHashes, suffixOffsets } from '../../src/policy/name-hash.js';
import { labels } from '../helpers/packets.js';

function registered(finder: ZoneFinder, name: string): string {
  const wire = labels(...name.split('.'));
  const offsets = new Int32Array(128);
  const hi = new Int32Array(128);
  const lo = new Int32Array(128);
  const n = suffixOffsets(wire, 0, offsets);
  suffixHashes(wire, offsets, n, hi, lo);
  return name
    .split('.')
    .slice(finder.registeredIndex(wire, 0, n, hi, lo))
    .join('.');
}

describe('ZoneFinder', () => {
  it('finds the registered domain as the Public Suffix List has it, private suffixes included', () => {
    const finder = new ZoneFinder();
    assert.equal(registered(finder, 'a1b2.victim.example.co.uk'), 'example.co.uk');
    assert.equal(registered(finder, 'x.y.example.com'), 'example.com');
    assert.equal(registered(finder, 'user.github.io'), 'user.github.io');
    assert.equal(registered(finder, 'deep.user.github.io'), 'user.github.io');
    assert.equal(registered(finder, 'example.com'), 'example.com');
    assert.equal(registered(finder, 'co.uk'), 'co.uk');
    assert.equal(registered(finder, 'com'), 'com');
  });

  it('walks the list once per parent, whatever the first labels', () => {
    const finder = new ZoneFinder();
    for (let i = 0; i < 1000; i++) assert.equal(registered(finder, `r${i}.Victim.Example.CO.UK`), 'Example.CO.UK');
    assert.equal(finder.walks, 1);
  });
});
