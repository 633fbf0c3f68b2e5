/**
 * The data directory holds secrets (password and token hashes, the audit log, every logged
 * query): it is owner-only, and one running dnsward owns it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CliServer, runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('the data directory', () => {
  let unbound: UnboundServer;
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-datadir-'));

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
  });
  after(async () => {
    await unbound?.stop();
  });

  it('is created 0700 with every file in it 0600, the databases included', async () => {
    const dataDir = join(dir, 'private');
    const port = await freePort();
    const config = join(dir, 'private.yaml');
    writeFileSync(
      config,
      `listen: ["127.0.0.1:${port}"]\ndataDir: ${dataDir}\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nqueryLog: { mode: all }\nevents: { file: { path: ${join(dataDir, 'events.jsonl')} } }\n`,
    );
    const user = await runCli(['user', 'add', 'admin', '--role', 'admin', '--data-dir', dataDir], {
      DNSWARD_PASSWORD: 'a long enough password',
    });
    assert.equal(user.code, 0, user.stderr);
    const server = CliServer.start(['--config', config]);
    try {
      await server.waitForLog('dnsward started');
      const r = await dig('127.0.0.1', port, ['www.example.test', 'A']);
      assert.match(r.raw, /192\.0\.2\.10/);
      const allow = await runCli(['allow', 'example.org', '--for', '1h', '--data-dir', dataDir]);
      assert.equal(allow.code, 0, allow.stderr);
      // The query log and the events file are written off the query path: wait (bounded) for both.
      for (let i = 0; i < 100 && !readdirSync(dataDir).includes('querylog.db'); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'the data directory is owner-only');
      const files = readdirSync(dataDir);
      for (const name of ['dnsward.db', 'querylog.db', 'dnsward.pid', 'dnsward.sock'])
        assert.ok(files.includes(name), `${name} exists (have ${files.join(', ')})`);
      for (const name of files) {
        const mode = statSync(join(dataDir, name)).mode & 0o777;
        assert.equal(mode & 0o077, 0, `${name} is ${mode.toString(8)}: no access for group or others`);
      }
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('tightens an existing data directory that others could read', async () => {
    const dataDir = mkdtempSync(join(dir, 'loose-'));
    const { chmodSync } = await import('node:fs');
    chmodSync(dataDir, 0o755);
    const user = await runCli(['user', 'add', 'viewer1', '--role', 'viewer', '--data-dir', dataDir], {
      DNSWARD_PASSWORD: 'a long enough password',
    });
    assert.equal(user.code, 0, user.stderr);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dataDir, 'dnsward.db')).mode & 0o077, 0);
  });

  it('tightens the files an earlier run left readable, the query log and its WAL included, before any write', async () => {
    const dataDir = mkdtempSync(join(dir, 'left-'));
    const port = await freePort();
    const config = join(dir, 'left.yaml');
    writeFileSync(
      config,
      `listen: ["127.0.0.1:${port}"]\ndataDir: ${dataDir}\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nqueryLog: { mode: all }\n`,
    );
    const first = CliServer.start(['--config', config]);
    try {
      await first.waitForLog('dnsward started');
      await dig('127.0.0.1', port, ['www.example.test', 'A']);
      // The query log is written off the query path: wait (bounded) for its file.
      for (let i = 0; i < 100 && !readdirSync(dataDir).includes('querylog.db'); i++)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      assert.equal(await first.stop(), 0);
    }
    const { chmodSync } = await import('node:fs');
    chmodSync(dataDir, 0o755);
    const loose = readdirSync(dataDir).filter((f) => f.includes('.db'));
    for (const f of loose) chmodSync(join(dataDir, f), 0o644);
    assert.ok(loose.includes('querylog.db'), `have ${loose.join(', ')}`);
    // Only blocked queries logged this time: nothing writes the query log during this run.
    const second = CliServer.start([
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--data-dir',
      dataDir,
    ]);
    try {
      await second.waitForLog('dnsward started');
      for (const f of readdirSync(dataDir))
        assert.equal(statSync(join(dataDir, f)).mode & 0o077, 0, `${f} is owner-only`);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  });

  it('says in one line why a data directory cannot be used', async () => {
    const r = await runCli([
      'serve',
      '--console',
      'off',
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--data-dir',
      '/etc/passwd/not-a-dir',
    ]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      "dnsward serve: cannot use data directory /etc/passwd/not-a-dir: ENOTDIR: not a directory, mkdir '/etc/passwd/not-a-dir'",
    ]);
  });

  it('belongs to one dnsward: a second serve on it stops with one line and the first keeps its PID file and socket', async () => {
    const dataDir = join(dir, 'shared');
    const [port1, port2] = [await freePort(), await freePort()];
    const first = CliServer.start([
      '--listen',
      `127.0.0.1:${port1}`,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--data-dir',
      dataDir,
    ]);
    try {
      await first.waitForLog('dnsward started');
      const second = CliServer.start([
        '--listen',
        `127.0.0.1:${port2}`,
        '--upstream',
        `127.0.0.1:${unbound.port}`,
        '--data-dir',
        dataDir,
      ]);
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 15_000);
        second.child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      if (code === null) await second.stop('SIGKILL');
      assert.equal(code, 1, `the second dnsward exits 1:\n${second.log}`);
      const lines = second.log.trim().split('\n');
      assert.equal(lines.length, 1, second.log);
      assert.match(lines[0], /data directory .* is in use by another dnsward \(pid \d+\)/);
      assert.equal(readFileSync(join(dataDir, 'dnsward.pid'), 'utf8').trim(), String(first.child.pid));
      const blocks = await runCli(['blocks', '--data-dir', dataDir, '--json']);
      assert.equal(blocks.code, 0, `the first dnsward still answers on its control socket: ${blocks.stderr}`);
    } finally {
      assert.equal(await first.stop(), 0);
    }
  });

  it('takes over a PID file left by a process that is gone', async () => {
    const dataDir = mkdtempSync(join(dir, 'stale-'));
    // A PID that no process has: the kernel's maximum is far below it.
    writeFileSync(join(dataDir, 'dnsward.pid'), '2147483646\n');
    const port = await freePort();
    const server = CliServer.start([
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--data-dir',
      dataDir,
    ]);
    try {
      await server.waitForLog('dnsward started');
      assert.equal(readFileSync(join(dataDir, 'dnsward.pid'), 'utf8').trim(), String(server.child.pid));
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('lets one of many processes racing for a stale PID file take it over', async () => {
    // Each claimant is a process of its own whose command line names dnsward (a live holder
    // whose command line does not is taken for a reused PID). They start at the same instant;
    // without a lock around the takeover, one could remove the file another had just made, and
    // both went on (2 rounds of 15 had two winners).
    const script = join(dir, 'dnsward-claim.mjs');
    const module = pathToFileURL(fileURLToPath(new URL('../../src/cli/pid-file.js', import.meta.url))).href;
    writeFileSync(
      script,
      `import { writePidFile } from ${JSON.stringify(module)};
const [dataDir, startAt] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {}
try { writePidFile(dataDir); console.log('won'); setTimeout(() => {}, 1500); } catch { console.log('lost'); }
`,
    );
    for (let round = 0; round < 6; round++) {
      const dataDir = mkdtempSync(join(dir, 'race-'));
      writeFileSync(join(dataDir, 'dnsward.pid'), '2147483646\n');
      const startAt = Date.now() + 800;
      const outcomes = await Promise.all(
        Array.from(
          { length: 8 },
          () =>
            new Promise<string>((resolve) => {
              execFile(process.execPath, [script, dataDir, String(startAt)], { timeout: 15_000 }, (_err, stdout) =>
                resolve(stdout.trim()),
              );
            }),
        ),
      );
      assert.equal(outcomes.filter((o) => o === 'won').length, 1, `round ${round}: ${outcomes.join(' ')}`);
      assert.equal(outcomes.filter((o) => o === 'lost').length, 7, `round ${round}: ${outcomes.join(' ')}`);
    }
  });
});
