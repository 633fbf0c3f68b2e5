import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharacterModel } from '../../src/guard/character-model.js';
import { labelShape } from '../../src/guard/label-shape.js';

const benign = [
  'www',
  'mail',
  'api',
  'cdn',
  'static',
  'login',
  'images',
  'shop',
  'news',
  'video',
  'app',
  'm',
  'secure',
  'portal',
  'assets',
  'img',
  'blog',
  'support',
  'docs',
  'smtp',
];

describe('character model (Tunnel Guard stage 1)', () => {
  it('gives names like the learned ones fewer bits per byte than encoded payloads', () => {
    const model = new CharacterModel();
    for (let i = 0; i < 50; i++) for (const label of benign) model.learn(label);
    model.refresh();
    const perByte = (label: string) => model.bits(label) / label.length;
    assert.ok(perByte('mail') < 3, `mail: ${perByte('mail')}`);
    assert.ok(perByte('mfrggzdfmztwq2lknnwg23tpoa') > 6, 'base32 payload');
    assert.ok(perByte(String.fromCharCode(0xbc, 0xd2, 0xe9, 0xfd, 0xc4)) > 7, 'binary payload');
  });

  it('is additive over bytes and never negative', () => {
    const model = new CharacterModel();
    model.learn('abc');
    model.refresh();
    assert.equal(model.bits(''), 0);
    assert.ok(model.bits('ab') > 0);
    assert.ok(model.bits('abcabc') > model.bits('abc'));
  });

  it('forgets with decay: a decayed model is less sure', () => {
    const model = new CharacterModel();
    for (let i = 0; i < 100; i++) model.learn('www');
    model.refresh();
    const before = model.bits('www');
    model.decay(0.01);
    model.refresh();
    assert.ok(model.bits('www') > before);
    assert.ok(Math.abs(model.observed - 3) < 1e-9);
  });
});

describe('label shape (Tunnel Guard stage 1)', () => {
  it('recognises encodings', () => {
    assert.equal(labelShape('www').kind, 'word');
    assert.equal(labelShape('12345').kind, 'numeric');
    assert.equal(labelShape('9f86d081884c7d65').kind, 'hex');
    assert.equal(labelShape('mfrggzdfmztwq2lknnwg23tp').kind, 'base32');
    assert.equal(labelShape('q+Z8AnwaBAxYz0Pq9Lm').kind, 'base64');
    assert.equal(labelShape(String.fromCharCode(0x61, 0xbc, 0xfd)).kind, 'binary');
    assert.equal(labelShape('_domainkey').kind, 'mixed');
  });

  it('measures runs and vowels', () => {
    const s = labelShape('abc123de4');
    assert.equal(s.longestDigitRun, 3);
    assert.equal(s.longestLetterRun, 3);
    assert.equal(s.digits, 4);
    assert.equal(s.vowelRatio, 2 / 5);
  });
});
