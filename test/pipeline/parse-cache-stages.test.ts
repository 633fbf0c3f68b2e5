/**
 * The parse and cache stages alone, in a tiny in-memory pipeline (no sockets): malformed
 * queries end at parse with FORMERR or NOTIMP, counted by reason, and never reach the stages
 * after it; the cache answers a repeat itself with type `cached`, stores only upstream answers,
 * and keeps names apart by type.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketCache } from '../../src/cache/packet-cache.js';
import { ResponseType } from '../../src/pipeline/query-context.js';
import { CacheStage } from '../../src/pipeline/stages/cache-stage.js';
import { ParseStage } from '../../src/pipeline/stages/parse-stage.js';
import { miniPipeline } from '../helpers/mini-pipeline.js';
import { encodeQuery } from '../helpers/packets.js';

const newCache = () =>
  new PacketCache({
    maxEntries: 1000,
    maxBytes: 1 << 20,
    minTtl: 0,
    maxTtl: 86400,
    maxNegativeTtl: 3600,
    staleSeconds: 0,
    staleAnswerTtl: 30,
  });

describe('parse stage alone', () => {
  it('answers a query with two questions FORMERR, counts it by reason, and goes no further', () => {
    const parse = new ParseStage();
    const { send, upstream, sent } = miniPipeline([parse]);
    const bad = encodeQuery('www.example.test', 'A', { id: 5 });
    bad.writeUInt16BE(2, 4); // qdcount 2, one question present
    const r = send(bad);
    assert.equal(r.rcode, 'FORMERR');
    assert.equal(r.ctx.responseType, ResponseType.FORMERR);
    assert.deepEqual(upstream.asked, []);
    assert.equal(
      [...parse.malformed.values()].reduce((a, b) => a + b, 0),
      1,
    );
    assert.equal(sent.length, 1);
  });

  it('answers an opcode it does not serve NOTIMP, and a well-formed query passes on with its cache key', () => {
    const parse = new ParseStage();
    const { send, ask, upstream } = miniPipeline([parse]);
    const notify = encodeQuery('example.test', 'SOA', { id: 6 });
    notify[2] = (notify[2] & 0x87) | (4 << 3); // opcode NOTIFY
    assert.equal(send(notify).rcode, 'NOTIMP');
    const ok = ask('www.example.test');
    assert.equal(ok.rcode, 'NOERROR');
    assert.ok(ok.ctx.questionKey.length > 0);
    assert.deepEqual(upstream.asked, ['www.example.test']);
  });

  it('drops a message that is not a query (QR set) without an answer, counted', () => {
    const parse = new ParseStage();
    const { send, sent, upstream } = miniPipeline([parse]);
    const response = encodeQuery('www.example.test', 'A', { id: 7 });
    response[2] |= 0x80;
    const r = send(response);
    assert.equal(r.answer, null);
    assert.equal(sent.length, 0);
    assert.deepEqual(upstream.asked, []);
    assert.equal(parse.malformed.size, 1);
  });
});

describe('cache stage alone', () => {
  it('answers a repeat from the cache with its own type and reason, and the upstream is asked once', () => {
    const cache = new CacheStage(newCache());
    const { ask, upstream } = miniPipeline([new ParseStage(), cache]);
    assert.equal(ask('www.example.test').ctx.responseType, ResponseType.ANSWERED);
    const again = ask('www.example.test');
    assert.equal(again.ctx.responseType, ResponseType.CACHED);
    assert.equal(again.ctx.reason, 'packet cache hit');
    assert.deepEqual(
      again.answer!.answers!.map((a) => (a as { data: unknown }).data),
      ['192.0.2.1'],
    );
    assert.equal(again.answer!.id, 99, 'the cached answer carries the new query id');
    assert.deepEqual(upstream.asked, ['www.example.test']);
    assert.deepEqual([cache.hits, cache.misses], [1, 1]);
  });

  it('keeps types apart and caches NXDOMAIN by its SOA', () => {
    const cache = new CacheStage(newCache());
    const { ask, upstream } = miniPipeline([new ParseStage(), cache]);
    ask('www.example.test', 'A');
    assert.equal(ask('www.example.test', 'AAAA').ctx.responseType, ResponseType.ANSWERED);
    assert.equal(ask('nope.example.test').rcode, 'NXDOMAIN');
    const negative = ask('nope.example.test');
    assert.equal(negative.rcode, 'NXDOMAIN');
    assert.equal(negative.ctx.responseType, ResponseType.CACHED);
    assert.deepEqual(upstream.asked, ['www.example.test', 'www.example.test', 'nope.example.test']);
  });
});
