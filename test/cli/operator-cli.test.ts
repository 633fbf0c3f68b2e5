/**
 * The rough edges a new operator hits, each against the real `dnsward` executable with I/O
 * threads (the default) and a real unbound upstream: a feed without groups blocks for everyone;
 * an edited list file is applied by a reload or `dnsward feeds refresh`; every command finds the
 * server through --config or DNSWARD_CONFIG; `user add` needs a role and refuses to create a
 * database nobody reads; misspelt filters are refused; `allow --for forever`; the start banner.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer, runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-operator-'));
const LIST = join(dir, 'local-list.txt');
const CONFIG = join(dir, 'dnsward.yaml');
const DATA = join(dir, 'state');

let unbound: UnboundServer;
let server: CliServer;
let port: number;

/** Polls (bounded) until `check` holds. */
async function eventually(check: () => Promise<boolean>, what: string, tries = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what} did not happen within ${tries} tries`);
}

const status = async (name: string) => (await dig('127.0.0.1', port, [name, 'A'])).status;

describe('operator CLI: a new user from a fresh install', () => {
  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['corp.test'],
      records: [
        'bad.corp.test. 300 IN A 192.0.2.1',
        'later.corp.test. 300 IN A 192.0.2.2',
        'fine.corp.test. 300 IN A 192.0.2.3',
      ],
    });
    port = await freePort();
    writeFileSync(LIST, 'bad.corp.test\n');
    // A feed and no policy.groups: it must apply to every client.
    writeFileSync(
      CONFIG,
      `listen: ["127.0.0.1:${port}"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
dataDir: ${DATA}
threads: 2
console: { listen: null }
log: { level: info }
policy:
  feeds:
    - { name: local, category: malware, path: ${LIST}, format: domains }
`,
    );
    server = CliServer.start(['-c', CONFIG]);
    await server.waitForLog('dnsward started');
  });

  after(async () => {
    await server?.stop();
    await unbound?.stop();
  });

  it('applies a feed configured without groups to every client, and check-config says which group holds it', async () => {
    assert.equal(await status('bad.corp.test'), 'NXDOMAIN');
    assert.equal(await status('fine.corp.test'), 'NOERROR');
    const check = await runCli(['check-config', CONFIG]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /groups default \(every client: local\)/);
    assert.equal(check.stderr, '', 'no warning for a feed that applies');
  });

  it('warns, in check-config and at start, about a feed that is in no group', async () => {
    const file = join(dir, 'orphan.yaml');
    writeFileSync(
      file,
      `upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
policy:
  feeds:
    - { name: local, category: malware, path: ${LIST} }
    - { name: forgotten, category: phishing, path: ${LIST} }
  groups:
    - { name: staff, feeds: [local] }
`,
    );
    const check = await runCli(['check-config', file]);
    assert.equal(check.code, 0);
    assert.match(check.stdout, /OK, 1 warning/);
    assert.match(
      check.stderr,
      /warning: policy\.feeds: feed "forgotten" is in no group of policy\.groups .*: it blocks nothing/,
    );
  });

  it('applies an edited list file at a reload (SIGHUP), and at once with `dnsward feeds refresh`', async () => {
    assert.equal(await status('later.corp.test'), 'NOERROR');
    writeFileSync(LIST, 'bad.corp.test\nlater.corp.test\n');
    const reload = await runCli(['reload', '-c', CONFIG]);
    assert.equal(reload.code, 0, reload.stderr);
    await eventually(
      async () => (await status('later.corp.test')) === 'NXDOMAIN',
      'the edited list applied after reload',
    );

    writeFileSync(LIST, 'bad.corp.test\nlater.corp.test\nfine.corp.test\n');
    const refresh = await runCli(['feeds', 'refresh', '-c', CONFIG]);
    assert.equal(refresh.code, 0, refresh.stderr);
    assert.match(refresh.stdout, /refreshed: new version of local/);
    assert.match(
      refresh.stdout,
      /local \(malware\) .*local-list\.txt\n {2}3 rules, version \w+, loaded \S+, groups: default/,
    );
    await eventually(
      async () => (await status('fine.corp.test')) === 'NXDOMAIN',
      'the refreshed list applied on the I/O threads',
    );

    const again = await runCli(['feeds', 'refresh', 'local', '-c', CONFIG]);
    assert.match(again.stdout, /refreshed: no change/);
    const unknown = await runCli(['feeds', 'refresh', 'nosuch', '-c', CONFIG]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no feed named "nosuch" \(feeds: local, local-allow, local-deny\)/);
  });

  it('finds the server from --config or DNSWARD_CONFIG in any directory, with I/O threads and the control socket on', async () => {
    const byFlag = await runCli(['blocks', '-c', CONFIG, '--json']);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.equal(JSON.parse(byFlag.stdout).mode, 'block');
    const byEnv = await runCli(['feeds', '--json'], { DNSWARD_CONFIG: CONFIG });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.equal(JSON.parse(byEnv.stdout).feeds[0].name, 'local');
    const nowhere = await runCli(['blocks', '--data-dir', join(dir, 'nothing-here')]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /no running dnsward found/);
  });

  it('`user add` needs a role, reads the password without echo, and writes where the server reads', async () => {
    const noRole = await runCli(['user', 'add', 'alice', '-c', CONFIG], { DNSWARD_PASSWORD: 'correct-horse-battery' });
    assert.equal(noRole.code, 2);
    assert.match(noRole.stderr, /--role is needed: one of admin, viewer/);
    const added = await runCli(['user', 'add', 'alice', '--role', 'viewer'], {
      DNSWARD_CONFIG: CONFIG,
      DNSWARD_PASSWORD: 'correct-horse-battery',
    });
    assert.equal(added.code, 0, added.stderr);
    const listed = await runCli(['user', 'list', '--data-dir', DATA]);
    assert.match(listed.stdout, /^alice\tviewer\t/m);
    // From a directory with no ./var and nothing naming a server: refused, nothing created.
    const elsewhere = mkdtempSync(join(tmpdir(), 'dnsward-cwd-'));
    const stray = await runCliIn(elsewhere, ['user', 'add', 'bob', '--role', 'admin'], {
      DNSWARD_PASSWORD: 'correct-horse-battery',
    });
    assert.equal(stray.code, 2);
    assert.match(
      stray.stderr,
      /no dnsward data directory here \(\.\/var does not exist\): give the server's --config FILE or --data-dir DIR/,
    );
    assert.equal(existsSync(join(elsewhere, 'var')), false);
  });

  it('refuses misspelt filters instead of printing nothing', async () => {
    const action = await runCli(['queries', '--action', 'blok', '-c', CONFIG]);
    assert.equal(action.code, 2);
    assert.match(action.stderr, /--action must be one of answered, cached, .*blocked.*; not "blok"/);
    const client = await runCli(['queries', '--client', 'notanip', '-c', CONFIG]);
    assert.equal(client.code, 2);
    assert.match(client.stderr, /--client must be an IPv4 or IPv6 address, not "notanip"/);
    const type = await runCli(['events', '--type', 'bogus', '-c', CONFIG]);
    assert.equal(type.code, 2);
    assert.match(type.stderr, /--type must be one of tunnel_detected, .*policy_blocked.*; not "bogus"/);
    const help = await runCli(['events', '--help']);
    assert.match(help.stdout, /policy_blocked/);
    assert.match(help.stdout, /Finding the server:\n {2}-c, --config FILE/);
  });

  it('allows a domain forever, shows it as such, and takes the allow back with --remove', async () => {
    const allowed = await runCli(['allow', 'tunnel.test', '--for', 'forever', '-c', CONFIG]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /allowed tunnel\.test until forever/);
    const blocks = await runCli(['blocks', '-c', CONFIG]);
    assert.match(blocks.stdout, /tunnel\.test until forever \(by /);
    const removed = await runCli(['allow', '--remove', 'tunnel.test', '-c', CONFIG]);
    assert.equal(removed.code, 0, removed.stderr);
    const after = JSON.parse((await runCli(['blocks', '-c', CONFIG, '--json'])).stdout) as { allows: unknown[] };
    assert.deepEqual(after.allows, []);
    const twice = await runCli(['allow', '--remove', 'tunnel.test', '-c', CONFIG]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /no allow of tunnel\.test/);
    const bad = await runCli(['allow', 'x.test', '--for', 'always', '-c', CONFIG]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--for must be a duration such as 30m, 12h or 7d, or forever, not "always"/);
  });

  it('says at start, in words, where it answers and how to make the first console user', async () => {
    const cport = await freePort();
    const data = join(dir, 'banner');
    const banner = CliServer.start([
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--upstream',
      `127.0.0.1:${unbound.port}`,
      '--data-dir',
      data,
      '--console',
      `127.0.0.1:${cport}`,
      '--threads',
      '1',
    ]);
    try {
      await banner.waitForLog('operate');
      assert.match(
        banner.log,
        /dnsward \S+ is answering DNS\n {2}listening {3}127\.0\.0\.1:\d+ udp, 127\.0\.0\.1:\d+ tcp/,
      );
      assert.match(
        banner.log,
        new RegExp(
          `console {5}http://127\\.0\\.0\\.1:${cport}/\\n {14}no user yet: dnsward user add NAME --role admin --data-dir ${data.replaceAll('/', '\\/')}`,
        ),
      );
    } finally {
      await banner.stop();
    }
  });
});

async function runCliIn(
  cwd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { execFile } = await import('node:child_process');
  const { CLI } = await import('../helpers/cli.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, timeout: 20_000, env: { ...process.env, DNSWARD_CONFIG: '', DNSWARD_DATA_DIR: '', ...env } },
      (err, stdout, stderr) => {
        const code =
          err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
