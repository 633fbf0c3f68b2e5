/**
 * The guard store: a periodic snapshot leaves the event loop with its tables in small JSON
 * chunks, which the writer thread joins and writes; what it wrote restores the same guard; an
 * operator change saved while the writer thread writes a snapshot is saved, not refused.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { operatorState, restoreGuardParts, snapshotGuardParts } from '../../src/guard/guard-snapshot.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { TunnelGuard } from '../../src/guard/tunnel-guard.js';
import { GuardStore } from '../../src/store/guard-store.js';

const T0 = 1_700_000_000;

describe('guard store', () => {
  it('gets the tables of a periodic snapshot in small chunks, joins them on the writer thread, and restores the same guard', async () => {
    const guard = new TunnelGuard({ seenNameBits: 16 });
    for (let i = 0; i < 5000; i++)
      guard.observe({
        ts: T0 + i,
        client: `10.0.${i % 40}.1`,
        labels: labelsFromText(`www.domain-${i}.test`),
        qtype: 1,
      });
    const parts = await snapshotGuardParts(guard, () => new Promise((resolve) => setImmediate(resolve)));
    for (const [name, table] of Object.entries(parts.tables)) {
      assert.ok(Array.isArray(table), `${name}: chunks, not one joined buffer`);
      assert.ok(
        table.every((chunk) => chunk.byteLength <= 64 * 1024),
        `${name}: every chunk small`,
      );
    }
    assert.ok((parts.tables.domains as Uint8Array[]).length >= 50, 'the domains table is many chunks');

    const store = new GuardStore(join(mkdtempSync(join(tmpdir(), 'dnsward-store-')), 'dnsward.db'), (err) =>
      assert.fail(String(err)),
    );
    try {
      store.saveInBackground('guard', parts);
      for (let i = 0; i < 500 && store.busy; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(store.saves, 1);
      const restored = new TunnelGuard({ seenNameBits: 16 });
      restoreGuardParts(restored, store.load('guard')!.parts);
      assert.equal(restored.domains.size, guard.domains.size);
      assert.equal(restored.pairs.size, guard.pairs.size);
      assert.deepEqual(restored.describeDomain('domain-4321.test', T0), guard.describeDomain('domain-4321.test', T0));
    } finally {
      await store.close();
    }
  });

  it('writes a snapshot in pieces of about a mebibyte, each its own transaction, while operator rows are saved meanwhile', async () => {
    const guard = new TunnelGuard();
    for (let i = 0; i < 20_000; i++)
      guard.observe({
        ts: T0 + i,
        client: `10.0.${i % 40}.1`,
        labels: labelsFromText(`www.domain-${i}.test`),
        qtype: 1,
      });
    const parts = await snapshotGuardParts(guard, () => new Promise((resolve) => setImmediate(resolve)));
    const path = join(mkdtempSync(join(tmpdir(), 'dnsward-store-')), 'dnsward.db');
    const store = new GuardStore(path, (err) => assert.fail(String(err)));
    try {
      store.saveInBackground('guard', parts);
      let during = 0;
      for (let i = 0; i < 5000 && store.busy; i++) {
        // A deferred transaction here failed "database is locked" once it had waited for the writer.
        store.saveOperator('guard', operatorState(guard, null), {
          at: Date.now(),
          who: 'tester',
          action: 'allow',
          subject: `x${i}`,
          detail: '{}',
        });
        during++;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.ok(during > 0, 'operator rows were written while the snapshot was');
      assert.equal(store.saves, 1, 'and the snapshot was written');
      assert.equal(store.auditLog(1)[0].subject, `x${during - 1}`);
      // The write lock is held per piece, not for the whole snapshot: no row over 2 MiB (a filter), the tables in pieces.
      const db = new Database(path, { readonly: true });
      const rows = db
        .prepare(
          'SELECT part, length(data) AS bytes FROM guard_part WHERE name = (SELECT parts FROM guard_snapshot WHERE name = ?)',
        )
        .all('guard') as Array<{ part: string; bytes: number }>;
      db.close();
      assert.ok(
        rows.every((r) => r.bytes <= 2 * 1024 * 1024 + 64 * 1024),
        JSON.stringify(rows),
      );
      assert.ok(rows.filter((r) => r.part.startsWith('table:domains#')).length >= 2, 'the domains table is in pieces');
      const restored = new TunnelGuard();
      restoreGuardParts(restored, store.load('guard')!.parts);
      assert.equal(restored.domains.size, guard.domains.size);
      assert.deepEqual(restored.describeDomain('domain-12345.test', T0), guard.describeDomain('domain-12345.test', T0));
    } finally {
      await store.close();
    }
  });
});
