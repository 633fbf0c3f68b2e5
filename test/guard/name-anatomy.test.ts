import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateBenignTraffic } from '../../eval/traffic/benign-traffic.js';
import { clearAnatomyCache } from '../../src/guard/name-anatomy.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { anatomize, wireLabels } from '../../src/guard/name-anatomy.js';
import { nameToWire } from '../../src/dns/name.js';

const labelsOf = (name: string) => wireLabels(nameToWire(name).toString('latin1'));

describe('name anatomy (Tunnel Guard stage 0)', () => {
  it('splits on the public suffix list, ICANN section', () => {
    const a = anatomize(labelsOf('a.b.example.co.uk'));
    assert.equal(a.registeredDomain, 'example.co.uk');
    assert.equal(a.publicSuffix, 'co.uk');
    assert.deepEqual(a.subdomainLabels, ['a', 'b']);
    assert.equal(a.subdomainBytes, 2);
  });

  it('treats private suffixes as suffixes: each github.io site is its own domain', () => {
    const a = anatomize(labelsOf('data.alice.github.io'));
    assert.equal(a.registeredDomain, 'alice.github.io');
    assert.equal(a.privateSuffix, true);
    assert.deepEqual(a.subdomainLabels, ['data']);
  });

  it('keeps antivirus reputation names under their vendor domain', () => {
    const a = anatomize(labelsOf('0.0.0.0.1.0.0.4e.13cfus2tnlx3bwkfa6v4pkbw1v.avqs.mcafee.com'));
    assert.equal(a.registeredDomain, 'mcafee.com');
    assert.equal(a.subdomainLabels.at(-1), 'avqs');
  });

  it('handles names without a registrable part', () => {
    assert.equal(anatomize(labelsOf('localhost')).registeredDomain, 'localhost');
    assert.equal(anatomize(labelsOf('co.uk')).registeredDomain, 'co.uk');
    assert.equal(anatomize([]).registeredDomain, '.');
  });

  it('keeps binary labels byte for byte and counts them (iodine Base128)', () => {
    const payload = String.fromCharCode(0xbc, 0xc1, 0x61, 0xfd, 0x2e, 0x30);
    const a = anatomize(['0xyz', payload, 't', 'example', 'com']);
    assert.equal(a.registeredDomain, 'example.com');
    assert.deepEqual(a.subdomainLabels, ['0xyz', payload, 't']);
    assert.equal(a.binaryLabels, 1);
    assert.equal(a.subdomainBytes, 4 + 6 + 1);
  });

  it('does not split a label on a raw dot byte', () => {
    const a = anatomize(['a.b', 'example', 'com']);
    assert.deepEqual(a.subdomainLabels, ['a.b']);
    const b = anatomize(['example.x', 'com']);
    assert.equal(b.registeredDomain, 'example.x.com');
    assert.deepEqual(b.subdomainLabels, []);
  });
});

describe('name anatomy cache', () => {
  it('splits every name as an uncached split does, PSL corner cases included', () => {
    const names = [
      ...generateBenignTraffic({
        seed: 5,
        clients: 5,
        mailServers: 1,
        start: 0,
        durationSeconds: 3600,
        queriesPerHour: 400,
      }).map((q) => q.qname),
      'foo.amazonaws.com',
      's3.amazonaws.com',
      'bucket.s3.amazonaws.com',
      'x.y.s3.amazonaws.com',
      'a.x.kawasaki.jp',
      'x.kawasaki.jp',
      'city.kawasaki.jp',
      'www.city.kawasaki.jp',
      'foo.blogspot.com',
      'a.b.blogspot.com',
      'a.b.github.io',
      'b.github.io',
      'deep.a.b.c.example.co.uk',
      'c.example.co.uk',
      'x.co.uk',
      'co.uk',
    ];
    clearAnatomyCache();
    const cold = names.map((n) => {
      clearAnatomyCache();
      return anatomize(labelsFromText(n.toLowerCase()));
    });
    clearAnatomyCache();
    const warm = names.map((n) => anatomize(labelsFromText(n.toLowerCase())));
    const differ = names.filter((_, i) => JSON.stringify(cold[i]) !== JSON.stringify(warm[i]));
    // The one documented exception: a bare suffix asked after a sibling cached its parent.
    assert.deepEqual(differ, ['s3.amazonaws.com']);
  });
});
