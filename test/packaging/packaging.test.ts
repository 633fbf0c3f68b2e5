/**
 * What installs dnsward as a service: the systemd unit passes `systemd-analyze verify` (with its
 * ExecStart pointed at this checkout's executable, the one change), the manual is current with
 * the commands' help, the example configuration is valid, and the container recipe copies only
 * what exists. The recipe itself is not built here: the test machine has no container builder.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { manPage } from '../../src/cli/man-page.js';
import { loadConfig } from '../../src/config/load-config.js';
import { packageVersion } from '../../src/util/package-version.js';
import { CLI } from '../helpers/cli.js';

const root = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

describe('packaging', () => {
  it('has a systemd unit that systemd-analyze verifies, unprivileged with only CAP_NET_BIND_SERVICE', async () => {
    const unit = readFileSync(join(root, 'packaging/systemd/dnsward.service'), 'utf8');
    assert.match(unit, /^User=dnsward$/m);
    assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    assert.match(unit, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    assert.match(unit, /^ProtectSystem=strict$/m);
    assert.match(unit, /^StateDirectory=dnsward$/m);
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-unit-'));
    const local = unit.replaceAll('/usr/bin/dnsward', `${process.execPath} ${CLI}`);
    assert.notEqual(local, unit);
    writeFileSync(join(dir, 'dnsward.service'), local);
    // Documentation=man:dnsward(1) is looked up: the manual is installed where man finds it.
    mkdirSync(join(dir, 'man', 'man1'), { recursive: true });
    copyFileSync(join(root, 'docs/dnsward.1'), join(dir, 'man', 'man1', 'dnsward.1'));
    const { stderr } = await run('systemd-analyze', ['verify', join(dir, 'dnsward.service')], {
      env: { ...process.env, MANPATH: join(dir, 'man') },
      timeout: 30_000,
    });
    assert.equal(stderr.trim(), '');
  });

  it("ships a manual that says what the commands' help says", () => {
    assert.equal(
      readFileSync(join(root, 'docs/dnsward.1'), 'utf8'),
      manPage(packageVersion()),
      'docs/dnsward.1 is stale: npm run man',
    );
  });

  it('ships an example configuration that is valid and keeps its state in /var/lib/dnsward', async () => {
    const { config } = loadConfig(join(root, 'packaging/dnsward.yaml'));
    assert.equal(config.dataDir, '/var/lib/dnsward');
    assert.deepEqual(
      config.listen.map((l) => l.address.port),
      [53, 53],
    );
    const check = await run(process.execPath, [CLI, 'check-config', join(root, 'packaging/dnsward.yaml')]);
    assert.match(check.stdout, /packaging\/dnsward\.yaml: OK/);
  });

  it('has a container recipe whose copied files exist', () => {
    const recipe = readFileSync(join(root, 'packaging/Containerfile'), 'utf8');
    const copies = [...recipe.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    assert.ok(copies.length >= 8);
    assert.deepEqual(
      copies.filter((path) => !existsSync(join(root, path))),
      [],
    );
  });
});
