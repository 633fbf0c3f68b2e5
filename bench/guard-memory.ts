/**
 * Tunnel Guard's memory at its caps: 1M registered domains, 100k clients and 1M client × domain
 * pairs (the defaults), filled by queries with new subdomains so every structure is populated.
 * Run with --expose-gc (npm run bench does).
 */
import { TunnelGuard } from '../src/guard/tunnel-guard.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const T0 = 1_700_000_000;
gc();
const before = process.memoryUsage();
const guard = new TunnelGuard();
const domains = 1_000_000;
const clients = 100_000;
const started = performance.now();
// Stop when the domain map is at its fullest (a generational map holds between half and all of its cap).
for (let i = 0; guard.domains.size < domains - 1 && i < domains * 2; i++) {
  const client = `10.${(i % clients) >> 16}.${((i % clients) >> 8) & 0xff}.${i % 256}`;
  guard.observe({
    ts: T0 + i / 100,
    client,
    labels: [`n${i.toString(36)}x`, `domain${i % (domains + 50_000)}`, 'com'],
    qtype: 1,
  });
}
const seconds = (performance.now() - started) / 1000;
gc();
const after = process.memoryUsage();
const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
console.log(
  `Tunnel Guard at its caps: ${guard.domains.size} domains, ${guard.clients.size} clients, ${guard.pairs.size} pairs (caps 1M / 100k / 1M), filled in ${seconds.toFixed(1)} s`,
);
console.log(
  `  heap +${mib(after.heapUsed - before.heapUsed)} MiB, array buffers +${mib(after.arrayBuffers - before.arrayBuffers)} MiB, RSS +${mib(after.rss - before.rss)} MiB`,
);
