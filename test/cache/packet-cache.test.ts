import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { cacheKey, keyNameLength } from '../../src/cache/cache-key.js';
import { PacketCache, type PacketCacheOptions } from '../../src/cache/packet-cache.js';
import { parseQuery } from '../../src/dns/query-parser.js';
import { scanResponse, type ScannedResponse } from '../../src/dns/response-scanner.js';
import { encodeQuery } from '../helpers/packets.js';

const defaults: PacketCacheOptions = {
  maxEntries: 100,
  maxBytes: 1 << 20,
  minTtl: 0,
  maxTtl: 86400,
  maxNegativeTtl: 3600,
  staleSeconds: 3600,
  staleAnswerTtl: 30,
};

function answerFor(name: string, ttl: number, rdata = '192.0.2.1', pad = 0): Buffer {
  const answers: dnsPacket.Answer[] = [{ type: 'A', name, ttl, data: rdata }];
  if (pad) answers.push({ type: 'TXT', name, ttl, data: 'x'.repeat(pad) });
  return dnsPacket.encode({
    type: 'response',
    id: 99,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name: name.toLowerCase(), class: 'IN' }],
    answers,
  });
}

function scanned(buf: Buffer): ScannedResponse {
  const s = scanResponse(buf);
  if (typeof s === 'string') throw new Error(s);
  return s;
}

function put(cache: PacketCache, name: string, ttl: number, now: number, pad = 0): string {
  const q = encodeQuery(name);
  const key = cacheKey(q, parseQuery(q).query);
  cache.store(key, answerFor(name, ttl, '192.0.2.1', pad), scanned(answerFor(name, ttl, '192.0.2.1', pad)), now);
  return key;
}

describe('PacketCache', () => {
  it('answers a hit with the client ID, the client qname case and decremented TTLs', () => {
    const cache = new PacketCache(defaults);
    const t0 = 1_000_000;
    put(cache, 'www.example.com', 300, t0);
    const request = encodeQuery('WWW.Example.Com', 'A', { id: 0xbeef });
    const parsed = parseQuery(request).query;
    const id = cache.lookup(cacheKey(request, parsed), t0 + 10_500);
    assert.ok(id >= 0);
    const out = dnsPacket.decode(cache.answer(id, request, parsed, t0 + 10_500));
    assert.equal(out.id, 0xbeef);
    assert.equal(out.questions![0].name, 'WWW.Example.Com');
    assert.equal((out.answers![0] as { ttl: number }).ttl, 290);
  });

  it('keys on DO, CD and EDNS presence', () => {
    const cache = new PacketCache(defaults);
    put(cache, 'a.example', 300, 0);
    for (const opts of [{ edns: true }, { edns: true, dnssecOk: true }, { cd: true }]) {
      const q = encodeQuery('a.example', 'A', opts);
      assert.equal(cache.lookup(cacheKey(q, parseQuery(q).query), 1), -1, JSON.stringify(opts));
    }
  });

  it('expires entries after their TTL and keeps them for serve-stale', () => {
    const cache = new PacketCache(defaults);
    const key = put(cache, 'a.example', 60, 0);
    assert.ok(cache.lookup(key, 59_000) >= 0);
    const stale = cache.lookup(key, 61_000);
    assert.ok(stale <= -2, 'expired entry is offered as stale');
    const request = encodeQuery('a.example');
    const out = dnsPacket.decode(cache.answerStale(stale, request, parseQuery(request).query));
    assert.equal((out.answers![0] as { ttl: number }).ttl, 30);
    assert.equal(cache.lookup(key, (60 + 3600 + 1) * 1000), -1, 'gone after the stale window');
  });

  it('caches NXDOMAIN for the SOA minimum and ignores negative answers without SOA', () => {
    const cache = new PacketCache(defaults);
    const soa = {
      type: 'SOA' as const,
      name: 'example',
      ttl: 900,
      data: { mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30 },
    };
    const nx = dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 3,
      questions: [{ type: 'A', name: 'nx.example', class: 'IN' }],
      authorities: [soa],
    });
    assert.equal(cache.store('k1', nx, scanned(nx), 0), 30);
    const bare = dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 3,
      questions: [{ type: 'A', name: 'nx.example', class: 'IN' }],
    });
    assert.equal(cache.store('k2', bare, scanned(bare), 0), -1);
    const servfail = dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 2,
      questions: [{ type: 'A', name: 'nx.example', class: 'IN' }],
    });
    assert.equal(cache.store('k3', servfail, scanned(servfail), 0), -1);
  });

  it('evicts the least recently used entry at the entry bound', () => {
    const cache = new PacketCache({ ...defaults, maxEntries: 3 });
    const k1 = put(cache, 'one.example', 300, 1);
    const k2 = put(cache, 'two.example', 300, 2);
    const k3 = put(cache, 'three.example', 300, 3);
    assert.ok(cache.lookup(k1, 4) >= 0); // one is now more recent than two
    const k4 = put(cache, 'four.example', 300, 5);
    assert.equal(cache.size, 3);
    assert.equal(cache.lookup(k2, 6), -1);
    for (const k of [k1, k3, k4]) assert.ok(cache.lookup(k, 6) >= 0);
  });

  it('stays within the byte bound', () => {
    const cache = new PacketCache({ ...defaults, maxEntries: 100_000, maxBytes: 1 << 20 });
    for (let i = 0; i < 20_000; i++) put(cache, `n${i}.example`, 300, i, i % 7 === 0 ? 700 : 0);
    assert.ok(cache.bytes <= 1 << 20, `bytes ${cache.bytes}`);
    assert.ok(cache.stats.evictions > 0);
    assert.ok(cache.lookup(put(cache, 'last.example', 300, 30_000), 30_001) >= 0);
  });
});

describe('cache key and EDNS Client Subnet', () => {
  const ecsQuery = (subnet: string) =>
    dnsPacket.encode({
      type: 'query',
      id: 1,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'geo.example', class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          flags: 0,
          options: [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: subnet }],
        } as unknown as dnsPacket.Answer,
      ],
    });

  it('keys answers to different client subnets apart', () => {
    const a = ecsQuery('192.0.2.0');
    const b = ecsQuery('198.51.100.0');
    const ka = cacheKey(a, parseQuery(a).query);
    const kb = cacheKey(b, parseQuery(b).query);
    assert.notEqual(ka, kb);
    assert.equal(keyNameLength(ka), keyNameLength(kb));
    assert.equal(ka.slice(0, keyNameLength(ka) + 5), kb.slice(0, keyNameLength(kb) + 5), 'same question and flags');
    const plain = encodeQuery('geo.example', 'A', { edns: true });
    assert.notEqual(cacheKey(plain, parseQuery(plain).query), ka);
  });
});
