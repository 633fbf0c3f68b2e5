/**
 * Memory of a packet cache holding 1M entries: `node --expose-gc dist/bench/cache-memory.js`
 * (also run by `npm run bench`). Stores 1M distinct A answers (about 60 bytes each, a typical
 * answer size) and reports RSS and V8 heap growth.
 */
import * as dnsPacket from 'dns-packet';
import { cacheKey } from '../src/cache/cache-key.js';
import { PacketCache } from '../src/cache/packet-cache.js';
import { parseQuery } from '../src/dns/query-parser.js';
import { scanResponse } from '../src/dns/response-scanner.js';

const ENTRIES = Number(process.env.CACHE_ENTRIES ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function usage() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.arrayBuffers };
}

const before = usage();
const cache = new PacketCache({
  maxEntries: ENTRIES,
  maxBytes: 512 << 20,
  minTtl: 0,
  maxTtl: 86400,
  maxNegativeTtl: 3600,
  staleSeconds: 86400,
  staleAnswerTtl: 30,
});
const now = Date.now();
let answerBytes = 0;
for (let i = 0; i < ENTRIES; i++) {
  const name = `host${i}.example${i % 1000}.com`;
  const query = dnsPacket.encode({
    type: 'query',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
  });
  const answer = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: 0x8180,
    questions: [{ type: 'A', name, class: 'IN' }],
    answers: [{ type: 'A', name, ttl: 3600, data: '192.0.2.1' }],
  });
  answerBytes += answer.length;
  const scan = scanResponse(answer);
  if (typeof scan === 'string') throw new Error(scan);
  cache.store(cacheKey(query, parseQuery(query).query), answer, scan, now);
}
const after = usage();
const mib = (n: number) => (n / (1 << 20)).toFixed(0);
console.log(`packet cache with ${cache.size} entries (average answer ${(answerBytes / ENTRIES).toFixed(0)} bytes):`);
console.log(
  `  RSS +${mib(after.rss - before.rss)} MiB, V8 heap +${mib(after.heap - before.heap)} MiB, array buffers +${mib(after.external - before.external)} MiB, slab pages ${mib(cache.bytes)} MiB`,
);
