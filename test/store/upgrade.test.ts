/**
 * An upgrade keeps what was learned: the data directory in test/fixtures/previous-release was
 * written by a real dnsward of the release before schema versions (a Tunnel Guard block on
 * tunnel.test, an operator allow and quarantine with their audit rows, a console user, a query
 * log), gzipped. This build opens it, migrates it, and finds everything there.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UserStore } from '../../src/console/auth/user-store.js';
import { QueryLogStore } from '../../src/querylog/query-log-store.js';
import { latestVersion, openDatabase, SchemaError } from '../../src/store/sqlite-database.js';
import { STATE_SCHEMA } from '../../src/store/state-schema.js';
import { QUERYLOG_SCHEMA } from '../../src/store/querylog-schema.js';
import { rangeStats } from '../../src/querylog/query-stats-store.js';
import { startDnsward } from '../helpers/dnsward.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/previous-release/', import.meta.url));

function previousReleaseDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-upgrade-'));
  for (const file of ['dnsward.db', 'querylog.db'])
    writeFileSync(join(dir, file), gunzipSync(readFileSync(join(FIXTURE, `${file}.gz`))), { mode: 0o600 });
  return dir;
}

const versionOfFile = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

describe('upgrade from the release before schema versions', () => {
  it('migrates dnsward.db and keeps the learned state, operator decisions, audit and users', async () => {
    const dataDir = previousReleaseDataDir();
    assert.equal(versionOfFile(join(dataDir, 'dnsward.db')), 0, 'the fixture is unversioned');
    const dw = await startDnsward(
      `dataDir: ${dataDir}\nlisten: ["127.0.0.1:@PORT@"]\nupstreams:\n  servers: ["127.0.0.1:9"]\nqueryLog:\n  mode: all\n`,
    );
    try {
      assert.equal(versionOfFile(join(dataDir, 'dnsward.db')), latestVersion(STATE_SCHEMA));
      const guard = dw.server.guard;
      const learned = guard.describeDomain('tunnel.test', Date.now() / 1000);
      assert.ok(learned !== undefined, 'what Tunnel Guard learned of tunnel.test is back');
      assert.ok(
        learned.leakedBytes > 100 && learned.uniqueNames >= 3,
        `tunnel.test: ${learned.leakedBytes} B, ${learned.uniqueNames} names`,
      );
      assert.ok(guard.domains.size >= 2, `domains learned: ${guard.domains.size}`);
      assert.deepEqual(
        guard.overrides.map((o) => [o.domain, o.by]),
        [['allowed.test', 'operator-1']],
      );
      assert.deepEqual(
        guard.quarantines.map((q) => [q.client, q.by]),
        [['192.0.2.66', 'operator-1']],
      );
      assert.deepEqual(
        dw.server.auditLog(10).map((a) => [a.action, a.subject]),
        [
          ['allow', 'allowed.test'],
          ['quarantine', '192.0.2.66'],
        ],
      );
      // The query log's writer opens (and migrates) the file at its first use.
      assert.equal(
        (await dw.server.queryLog.stats('7d', 5)).total,
        0,
        'no statistics before the migration that keeps them',
      );
    } finally {
      await dw.stop();
    }
    const users = new UserStore(join(dataDir, 'dnsward.db'));
    assert.equal(
      await users.verify('analyst', 'correct-horse-battery'),
      'viewer',
      'the console user and password hash are kept',
    );
    assert.equal(
      versionOfFile(join(dataDir, 'querylog.db')),
      latestVersion(QUERYLOG_SCHEMA),
      'the query log is migrated too',
    );
    const log = new QueryLogStore(join(dataDir, 'querylog.db'), true);
    assert.ok(
      log.queries({ limit: 100 }).some((q) => q.domain === 'tunnel.test'),
      'the query log of the previous release reads',
    );
    assert.equal(rangeStats(log.database, '7d', 5).total, 0, 'and has the statistics tables');
  });

  it('refuses a file written by a newer release, naming it, and leaves it untouched', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dnsward-newer-')), 'dnsward.db');
    const db = new Database(path);
    db.exec('CREATE TABLE future (x)');
    db.pragma(`user_version = ${latestVersion(STATE_SCHEMA) + 1}`);
    db.close();
    assert.throws(
      () => openDatabase(path, STATE_SCHEMA),
      (err: Error) =>
        err instanceof SchemaError && err.message.includes(path) && /newer than this dnsward knows/.test(err.message),
    );
    assert.equal(versionOfFile(path), latestVersion(STATE_SCHEMA) + 1);
  });

  it('migrates a new file once when two connections open it together (main thread and writer)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dnsward-twice-')), 'dnsward.db');
    const seen: number[] = [];
    const a = openDatabase(path, STATE_SCHEMA, { onMigrate: (_from, to) => seen.push(to) });
    const b = openDatabase(path, STATE_SCHEMA, { onMigrate: (_from, to) => seen.push(to) });
    assert.deepEqual(
      seen,
      STATE_SCHEMA.migrations.map((m) => m.version),
    );
    a.close();
    b.close();
  });
});
