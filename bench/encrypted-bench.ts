/**
 * DNS over TLS and DNS over HTTPS, cache hits, against dnsward and dnsdist serving the same
 * certificate in front of the same unbound, each with its packet cache, interleaved rounds. DoT
 * is driven by dnsperf (`-m dot`); DoH by nghttp2's h2load (POST of one DNS query, HTTP/2,
 * 4 connections × 32 streams): Debian's dnsperf 2.10 completes only a few DoH queries against
 * any server (2 of 12 against dnsdist itself), so its DoH mode cannot measure anything. dnsward runs one I/O thread (its TCP, DoT and DoH listeners live on I/O
 * thread 0: Node 20 has no SO_REUSEPORT for TCP); dnsdist runs as configured by default (its
 * TCP/DoT workers and one DoH thread).
 *
 * `node dist/bench/encrypted-bench.js` (needs dnsdist, unbound, dnsperf, h2load, openssl).
 * BENCH_SECONDS (default 5) per run, BENCH_ROUNDS (default 2). Prints a Markdown table and ratios.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/cli.js';
import { makeCaSignedCert } from '../test/helpers/certificates.js';
import { freePort } from '../test/helpers/ports.js';
import { UnboundServer } from '../test/helpers/unbound.js';
import { dnsperf, startProcess, stopProcess } from './dnsperf.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { encodeQuery } from '../test/helpers/packets.js';

const run = promisify(execFile);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Math.min(Number(process.env.BENCH_ROUNDS ?? 2), 10);
const NAMES = 50;

interface Run {
  qps: number;
  lost: number;
}

async function measure(mode: 'dot' | 'doh', port: number, queries: string, body: string): Promise<Run> {
  if (mode === 'dot') {
    const out = await dnsperf(port, queries, SECONDS, ['-c', '4', '-q', '200', '-m', 'dot']);
    return {
      qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
      lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0),
    };
  }
  const { stdout } = await run(
    'h2load',
    [
      '-D',
      String(SECONDS),
      '-c',
      '4',
      '-m',
      '32',
      '-d',
      body,
      '-H',
      'content-type: application/dns-message',
      '-H',
      'accept: application/dns-message',
      `https://127.0.0.1:${port}/dns-query`,
    ],
    { timeout: (SECONDS + 30) * 1000, maxBuffer: 1 << 26 },
  );
  // h2load's own count of requests that failed or errored; its "2xx" count is what was answered.
  const failed = /(\d+) failed, (\d+) errored/.exec(stdout);
  const status = /status codes: (\d+) 2xx/.exec(stdout);
  return { qps: Number(status?.[1] ?? 0) / SECONDS, lost: Number(failed?.[1] ?? 0) + Number(failed?.[2] ?? 0) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-encrypted-bench-'));
  const tls = makeCaSignedCert(dir, 'bench', 'dns.bench.test');
  const records = Array.from({ length: NAMES }, (_, i) => `n${i}.bench.test. 3600 IN A 192.0.2.${(i % 250) + 1}`);
  const queries = join(dir, 'queries.txt');
  writeFileSync(queries, Array.from({ length: NAMES }, (_, i) => `n${i}.bench.test A`).join('\n') + '\n');
  const body = join(dir, 'query.bin');
  writeFileSync(body, encodeQuery('n0.bench.test', 'A', { id: 0 }));
  const unbound = await UnboundServer.start({ zones: ['bench.test'], records });

  const dw = { udp: await freePort(), dot: await freePort(), doh: await freePort() };
  const conf = join(dir, 'dnsward.yaml');
  writeFileSync(
    conf,
    `listen: ["127.0.0.1:${dw.udp}"]
threads: 1
dataDir: ${join(dir, 'var')}
log: { level: warn }
console: { listen: null }
queryLog: { mode: off }
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
dot:
  - { listen: "127.0.0.1:${dw.dot}", cert: "${tls.cert}", key: "${tls.key}" }
doh:
  - { listen: "127.0.0.1:${dw.doh}", cert: "${tls.cert}", key: "${tls.key}", path: /dns-query }
`,
  );
  const dd = { udp: await freePort(), dot: await freePort(), doh: await freePort() };
  const ddConf = join(dir, 'dnsdist.conf');
  writeFileSync(
    ddConf,
    [
      'setSecurityPollSuffix("")',
      `setLocal("127.0.0.1:${dd.udp}")`,
      `newServer({address="127.0.0.1:${unbound.port}"})`,
      `addTLSLocal("127.0.0.1:${dd.dot}", "${tls.cert}", "${tls.key}")`,
      `addDOHLocal("127.0.0.1:${dd.doh}", "${tls.cert}", "${tls.key}", "/dns-query")`,
      'getPool(""):setCache(newPacketCache(100000))',
    ].join('\n') + '\n',
  );

  const dnsward = await startProcess(process.execPath, [CLI, 'serve', '--config', conf], dw.udp);
  const dnsdist = await startProcess('dnsdist', ['-C', ddConf, '--supervised', '--disable-syslog'], dd.udp);
  const runs: Record<string, Run[]> = { 'dnsdist dot': [], 'dnsward dot': [], 'dnsdist doh': [], 'dnsward doh': [] };
  try {
    for (const mode of ['dot', 'doh'] as const) {
      // Warm both caches over the encrypted path itself.
      await measure(mode, mode === 'dot' ? dw.dot : dw.doh, queries, body);
      await measure(mode, mode === 'dot' ? dd.dot : dd.doh, queries, body);
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (['dnsdist', 'dnsward'] as const) : (['dnsward', 'dnsdist'] as const);
        for (const who of order) {
          const ports = who === 'dnsward' ? dw : dd;
          runs[`${who} ${mode}`].push(await measure(mode, mode === 'dot' ? ports.dot : ports.doh, queries, body));
        }
      }
    }
  } finally {
    await stopProcess(dnsward);
    await stopProcess(dnsdist);
    await unbound.stop();
  }
  console.log(`| server, transport | QPS, run ${Array.from({ length: ROUNDS }, (_, i) => i + 1).join(' / ')} | lost |`);
  console.log('| --- | ---: | ---: |');
  for (const [label, rs] of Object.entries(runs))
    console.log(
      `| ${label} | ${rs.map((r) => Math.round(r.qps).toLocaleString('en-US')).join(' / ')} | ${rs.map((r) => r.lost).join(' / ')} |`,
    );
  for (const mode of ['dot', 'doh']) {
    const ratios = runs[`dnsward ${mode}`].map((r, i) => r.qps / runs[`dnsdist ${mode}`][i].qps);
    console.log(
      `dnsward / dnsdist, ${mode.toUpperCase()} cache hits, per round: ${ratios.map((x) => x.toFixed(2)).join(', ')} (target ≥ 0.8)`,
    );
  }
}

await main();
