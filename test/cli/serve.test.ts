/**
 * The real executable: reload under load, refused reloads, workers, shutdown, check-config.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CliServer, runCli } from '../helpers/cli.js';
import { dig, kdig } from '../helpers/dns-client.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('dnsward serve (the executable)', () => {
  let unbound: UnboundServer;
  let unbound2: UnboundServer;
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-cli-'));

  before(async () => {
    const records = Array.from({ length: 50 }, (_, i) => `h${i}.example.test. 300 IN A 192.0.2.${i + 1}`);
    unbound = await UnboundServer.start({ zones: ['example.test'], records });
    unbound2 = await UnboundServer.start({ zones: ['example.test'], records });
  });
  after(async () => {
    await unbound?.stop();
    await unbound2?.stop();
  });

  it('reloads on SIGHUP while dnsperf sends load, losing no query', async () => {
    const port = await freePort();
    const configPath = join(dir, 'reload.yaml');
    const config = (servers: number[], policy: string) => `
listen: ["127.0.0.1:${port}"]
dataDir: ${join(dir, 'var-reload')}
upstreams:
  policy: ${policy}
  servers: [${servers.map((p) => `"127.0.0.1:${p}"`).join(', ')}]
`;
    writeFileSync(configPath, config([unbound.port], 'failover'));
    const server = CliServer.start(['--config', configPath]);
    try {
      await server.waitForLog('dnsward started');
      const queries = join(dir, 'queries.txt');
      // Half hits, half misses (unique names answered NXDOMAIN by unbound's local zone).
      writeFileSync(
        queries,
        Array.from({ length: 4000 }, (_, i) => (i % 2 ? `h${i % 50}.example.test A` : `miss${i}.example.test A`)).join(
          '\n',
        ) + '\n',
      );
      const perf = promisify(execFile)(
        'dnsperf',
        ['-s', '127.0.0.1', '-p', String(port), '-d', queries, '-l', '4', '-Q', '3000', '-t', '3'],
        { timeout: 30_000 },
      );
      const variants = [
        config([unbound.port, unbound2.port], 'round-robin'),
        config([unbound2.port], 'least-outstanding'),
        config([unbound.port], 'failover'),
      ];
      for (let i = 0; i < variants.length; i++) {
        await new Promise((r) => setTimeout(r, 800));
        writeFileSync(configPath, variants[i]);
        server.child.kill('SIGHUP');
        await server.waitForLog('configuration reloaded', i + 1);
      }
      const { stdout } = await perf;
      const sent = Number(/Queries sent:\s+(\d+)/.exec(stdout)?.[1]);
      const lost = Number(/Queries lost:\s+(\d+)/.exec(stdout)?.[1]);
      assert.ok(sent > 5000, `dnsperf sent ${sent} queries`);
      assert.equal(lost, 0, stdout);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('refuses a bad reload, says why, and keeps serving', async () => {
    const port = await freePort();
    const configPath = join(dir, 'bad-reload.yaml');
    writeFileSync(
      configPath,
      `listen: ["127.0.0.1:${port}"]\ndataDir: ${join(dir, 'var-bad')}\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\n`,
    );
    const server = CliServer.start(['--config', configPath]);
    try {
      await server.waitForLog('dnsward started');
      writeFileSync(
        configPath,
        `listen: ["127.0.0.1:${port}"]\nupstreams: { servers: ["not-an-ip"], timeout: soon }\n`,
      );
      const reload = await runCli(['reload', '--data-dir', join(dir, 'var-bad')]);
      assert.equal(reload.code, 0, reload.stderr);
      await server.waitForLog('reload refused');
      assert.match(server.log, /upstreams\.servers\[0\]/);
      assert.match(server.log, /upstreams\.timeout: expected a duration/);
      const r = await dig('127.0.0.1', port, ['h1.example.test', 'A']);
      assert.match(r.answers[0], /192\.0\.2\.2$/);
    } finally {
      await server.stop();
    }
  });

  it('runs two I/O threads sharing the listeners, sums their metrics, and shuts down cleanly', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const conf = join(dir, 'threads.yaml');
    writeFileSync(conf, `metrics: { listen: "127.0.0.1:${metricsPort}" }\n`);
    const server = CliServer.start([
      '--config',
      conf,
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--threads',
      '2',
      '--data-dir',
      join(dir, 'var-threads'),
    ]);
    try {
      await server.waitForLog('dnsward started');
      assert.match(server.log, /"ioThreads":2/);
      for (let i = 0; i < 6; i++) {
        const udp = await dig('127.0.0.1', port, [`h${i}.example.test`, 'A']);
        assert.match(udp.answers[0], new RegExp(`192\\.0\\.2\\.${i + 1}$`));
        const tcp = await kdig('127.0.0.1', port, ['+tcp', `h${i + 10}.example.test`, 'A']);
        assert.match(tcp.answers[0], new RegExp(`192\\.0\\.2\\.${i + 11}$`));
      }
      server.child.kill('SIGHUP');
      await server.waitForLog('configuration reloaded');
      const after = await dig('127.0.0.1', port, ['h20.example.test', 'A']);
      assert.match(after.answers[0], /192\.0\.2\.21$/);
      // Whichever thread took each query, the scrape sums both (threads report every half second).
      let text = '';
      for (let i = 0; i < 50 && !/^dnsward_query_duration_seconds_count 13$/m.test(text); i++) {
        await new Promise((r) => setTimeout(r, 100));
        text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      }
      assert.match(text, /^dnsward_queries_total\{transport="udp"\} 7$/m);
      assert.match(text, /^dnsward_queries_total\{transport="tcp"\} 6$/m);
      assert.match(text, /^dnsward_query_duration_seconds_count 13$/m);
      assert.match(text, /^dnsward_io_threads 2$/m);
      for (const thread of [0, 1])
        assert.match(
          text,
          new RegExp(`^dnsward_io_thread_event_loop_delay_seconds\\{thread="${thread}",quantile="0.99"\\} \\d`, 'm'),
        );
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
    }
    assert.equal(server.log.split('dnsward stopped').length - 1, 1);
  });

  it('refuses the old workers key, pointing to threads', async () => {
    const conf = join(dir, 'workers.yaml');
    writeFileSync(conf, 'workers: 2\n');
    const r = await runCli(['check-config', conf]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /workers/);
    assert.match(r.stderr, /threads/);
  });

  it('says which address it cannot listen on, and exits 1', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
    try {
      const port = taken.address().port;
      const r = await runCli([
        'serve',
        '--listen',
        `127.0.0.1:${port}`,
        '--upstream',
        `127.0.0.1:${unbound.port}`,
        '--data-dir',
        join(dir, 'var-taken'),
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}/udp: .*in use`));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      taken.close();
    }
  });

  it('says in one line, without a stack trace, that the console port or the metrics port is taken', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as { port: number }).port;
      const consoleBusy = await runCli([
        'serve',
        '--listen',
        `127.0.0.1:${await freePort()}`,
        '--upstream',
        `127.0.0.1:${unbound.port}`,
        '--data-dir',
        join(dir, 'var-console-taken'),
        '--console',
        `127.0.0.1:${port}`,
      ]);
      const metricsConfig = join(dir, 'metrics-taken.yaml');
      writeFileSync(metricsConfig, `metrics: { listen: "127.0.0.1:${port}" }\n`);
      const metricsBusy = await runCli([
        'serve',
        '-c',
        metricsConfig,
        '--listen',
        `127.0.0.1:${await freePort()}`,
        '--upstream',
        `127.0.0.1:${unbound.port}`,
        '--data-dir',
        join(dir, 'var-metrics-taken'),
        '--console',
        'off',
      ]);
      for (const [r, what] of [
        [consoleBusy, 'console'],
        [metricsBusy, 'metrics'],
      ] as const) {
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(r.stderr.trim().split('\n'), [
          `dnsward serve: cannot listen on 127.0.0.1:${port}/${what}: listen EADDRINUSE: address already in use 127.0.0.1:${port} (another process has this port)`,
        ]);
      }
    } finally {
      taken.close();
    }
  });

  it('refuses a YAML file whose aliases expand without end, naming the file, without a stack trace', async () => {
    const file = join(dir, 'laughs.yaml');
    const level = (name: string, of: string) => `${name}: &${name} [${Array(9).fill(`*${of}`).join(', ')}]\n`;
    writeFileSync(
      file,
      `a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n${level('b', 'a')}${level('c', 'b')}${level('d', 'c')}${level('e', 'd')}${level('f', 'e')}${level('g', 'f')}`,
    );
    const r = await runCli([
      'serve',
      '-c',
      file,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--data-dir',
      join(dir, 'var-laughs'),
    ]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `dnsward serve: invalid configuration in ${file}: YAML: Excessive alias count indicates a resource exhaustion attack`,
    ]);
  });

  it('listens on IPv6 loopback when asked', async () => {
    const port = await freePort('::1').catch(() => 0);
    if (port === 0) assert.fail('IPv6 loopback is not available on this machine');
    const server = CliServer.start([
      '--listen',
      `[::1]:${port}`,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--data-dir',
      join(dir, 'var-v6'),
    ]);
    try {
      await server.waitForLog('dnsward started');
      const r = await dig('::1', port, ['h3.example.test', 'A']);
      assert.match(r.answers[0], /192\.0\.2\.4$/);
    } finally {
      await server.stop();
    }
  });
});

describe('dnsward check-config and help', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-check-'));

  it('accepts a valid file and prints what it means', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(
      file,
      'listen: ["0.0.0.0:53", "[::]:53"]\nupstreams:\n  policy: round-robin\n  servers: ["192.0.2.53", { address: "192.0.2.54:5300", protocol: tcp }]\nforwardZones:\n  - { zone: corp.example, servers: ["10.0.0.1"] }\n',
    );
    const r = await runCli(['check-config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /192\.0\.2\.54:5300\/tcp/);
    assert.match(r.stdout, /zone corp\.example: 10\.0\.0\.1:53/);
  });

  it('names the file, the key path and what was expected', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'listen: ["127.0.0.1:99999"]\nupstreams:\n  policy: random\n  servers: ["192.0.2.1"]\ncache:\n  maxBytes: lots\n  maxEntires: 5\n',
    );
    const r = await runCli(['check-config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(file.replace(/[.]/g, '\\.')));
    assert.match(r.stderr, /listen\[0\]/);
    assert.match(r.stderr, /upstreams\.policy: .*"failover"\|"round-robin"\|"least-outstanding"/);
    assert.match(r.stderr, /cache\.maxBytes: expected a size/);
    assert.match(r.stderr, /cache: unknown key "maxEntires"/);
  });

  it('reports YAML syntax errors with a line number', async () => {
    const file = join(dir, 'syntax.yaml');
    writeFileSync(file, 'listen: [\n  "127.0.0.1:53"\nupstreams: {\n');
    const r = await runCli(['check-config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /YAML syntax/);
  });

  it('has --help on every command', async () => {
    for (const command of ['serve', 'check-config', 'reload']) {
      const r = await runCli([command, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`Usage: dnsward ${command}`));
    }
    const top = await runCli(['--help']);
    assert.match(top.stdout, /Commands:/);
  });
});
