/** Presentation text to labels: the plain fast path and the escaped path agree. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presentName } from '../../src/dns/name.js';
import { labelsFromText } from '../../src/guard/name-text.js';

describe('labelsFromText', () => {
  it('splits plain names, dropping empty labels and a trailing dot', () => {
    assert.deepEqual(labelsFromText('www.Example.com'), ['www', 'Example', 'com']);
    assert.deepEqual(labelsFromText('www.example.com.'), ['www', 'example', 'com']);
    assert.deepEqual(labelsFromText('.a..b.'), ['a', 'b']);
    assert.deepEqual(labelsFromText(''), []);
    assert.deepEqual(labelsFromText('.'), []);
  });

  it('reads escapes and characters beyond latin1 as wire bytes', () => {
    assert.deepEqual(labelsFromText('a\\.b.c'), ['a.b', 'c']);
    assert.deepEqual(labelsFromText('\\000\\255x.y'), ['\u0000\u00ffx', 'y']);
    assert.deepEqual(labelsFromText('é.€.'), ['é', '\u00e2\u0082\u00ac']);
    // An escaped dot and an empty label together: the escape path drops empty labels too.
    assert.deepEqual(labelsFromText('a..\\.b'), ['a', '.b']);
  });

  it('round-trips through presentName', () => {
    for (const labels of [
      ['www', 'example', 'com'],
      ['a.b', 'c\\d'],
      ['\u0001\u00ff', 'x'],
    ])
      assert.deepEqual(labelsFromText(presentName(labels)), labels);
  });
});
