/**
 * What the defence defaults and cluster mode cost per query, measured as dnsward's CPU time per
 * answered query at a fixed rate (dnsperf `-Q`), not as maximum QPS: on a shared machine one
 * configuration's maximum QPS moves by 15 % from run to run, while CPU per query at a rate the
 * server keeps up with moves by a few per cent. When a server is CPU-bound its maximum QPS is
 * the inverse of its CPU per query, so the ratio of costs is the ratio of capacities.
 *
 * Variants, one I/O thread each, Tunnel Guard on, in front of the same unbound: `defaults`;
 * `nodefence` (cookies, minimal ANY and random-subdomain floods off); `cluster` (joined to a
 * local redis-server). ROUNDS rounds, the variants' order reversed every other round;
 * cache hits (100 names) at DEFENCE_QPS, then new names under an allowed redirect zone at half
 * that, each for DEFENCE_SECONDS. Prints each run and the medians with their ratios.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';
import { RedisServer } from '../test/helpers/redis.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { allowDomain, cpuTicks, dnsperf, extraConfig, startProcess, stopProcess } from './dnsperf.js';

const ROUNDS = Number(process.env.DEFENCE_ROUNDS ?? 4);
const QPS = Number(process.env.DEFENCE_QPS ?? 20_000);
const SECONDS = Number(process.env.DEFENCE_SECONDS ?? 8);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dnsward-defence-cost-'));

type Variant = 'defaults' | 'nodefence' | 'cluster';
const VARIANTS: Variant[] = ['defaults', 'nodefence', 'cluster'];

async function start(
  v: Variant,
  round: number,
  upstream: number,
  redisPort: number,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const conf = join(dir, `dnsward-${v}-${round}.yaml`);
  const dataDir = join(dir, `var-${v}-${round}`);
  writeFileSync(
    conf,
    `listen: ["127.0.0.1:${port}"]\nthreads: 1\ndataDir: ${dataDir}\nlog: { level: warn }\nconsole: { listen: null }\nupstreams: { servers: ["127.0.0.1:${upstream}"] }\ncache: { maxEntries: 1000000, maxBytes: 256MiB }\n${extraConfig(v === 'defaults' ? '' : v, redisPort)}`,
  );
  const child = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], port);
  allowDomain(CLI, dataDir, 'miss.cost.test');
  return { child, port };
}

/** CPU µs per completed query at `qps` for SECONDS, and the p99 latency dnsperf saw. */
async function costAt(port: number, pid: number, file: string, qps: number): Promise<{ us: number; lost: number }> {
  const t0 = cpuTicks(pid);
  const out = await dnsperf(port, file, SECONDS, ['-c', '4', '-Q', String(qps)]);
  const ticks = cpuTicks(pid) - t0;
  const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return {
    us: completed ? (ticks * 10_000) / completed : 0,
    lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main(): Promise<void> {
  const hitNames = Array.from({ length: 100 }, (_, i) => `h${i}.hit.cost.test`);
  const upstream = await UnboundServer.start({
    zones: ['hit.cost.test'],
    records: [
      ...hitNames.map((n, i) => `${n}. 3600 IN A 192.0.2.${(i % 250) + 1}`),
      'miss.cost.test. 3600 IN A 192.0.2.254',
    ],
    extra: ['local-zone: "miss.cost.test." redirect', 'num-queries-per-thread: 4096', 'so-rcvbuf: 4m'],
  });
  const redis = await RedisServer.start();
  const hitFile = join(dir, 'hits.txt');
  writeFileSync(hitFile, Array.from({ length: 100_000 }, (_, i) => `${hitNames[i % 100]} A`).join('\n') + '\n');
  const cost: Record<Variant, { hit: number[]; miss: number[] }> = {
    defaults: { hit: [], miss: [] },
    nodefence: { hit: [], miss: [] },
    cluster: { hit: [], miss: [] },
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        const dw = await start(v, round, upstream.port, redis.port);
        try {
          await dnsperf(dw.port, hitFile, 2, ['-c', '4', '-Q', String(QPS)]); // warm the cache
          const hit = await costAt(dw.port, dw.child.pid!, hitFile, QPS);
          const missFile = join(dir, `miss-${v}-${round}.txt`);
          writeFileSync(
            missFile,
            Array.from(
              { length: (QPS / 2) * (SECONDS + 2) },
              (_, i) => `m${round}-${i.toString(36)}.miss.cost.test A`,
            ).join('\n') + '\n',
          );
          const miss = await costAt(dw.port, dw.child.pid!, missFile, QPS / 2);
          cost[v].hit.push(hit.us);
          cost[v].miss.push(miss.us);
          console.log(
            `round ${round + 1} ${v}: hits ${hit.us.toFixed(2)} µs/query (lost ${hit.lost}), misses ${miss.us.toFixed(2)} µs/query (lost ${miss.lost})`,
          );
        } finally {
          await stopProcess(dw.child);
        }
      }
    }
  } finally {
    await redis.stop();
    await upstream.stop();
  }
  const base = { hit: median(cost.nodefence.hit), miss: median(cost.nodefence.miss) };
  const single = { hit: median(cost.defaults.hit), miss: median(cost.defaults.miss) };
  for (const v of VARIANTS) {
    const h = median(cost[v].hit);
    const m = median(cost[v].miss);
    console.log(
      `${v}: median CPU per query, hits ${h.toFixed(2)} µs at ${QPS}/s, misses ${m.toFixed(2)} µs at ${QPS / 2}/s` +
        (v === 'defaults'
          ? `; vs defence off: ${(h / base.hit).toFixed(3)}x hits, ${(m / base.miss).toFixed(3)}x misses (target: at most 1.05x on hits)`
          : '') +
        (v === 'cluster'
          ? `; vs single node: ${(h / single.hit).toFixed(3)}x hits, ${(m / single.miss).toFixed(3)}x misses (target: capacity >= 0.95x, i.e. cost <= 1.053x)`
          : ''),
    );
  }
}

await main();
