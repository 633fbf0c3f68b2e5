/**
 * A configuration reload keeps what Tunnel Guard learned and its blocks, and applies the new
 * mode. Operator decisions are saved on their own (not with a snapshot of everything learned),
 * survive a restart over an older snapshot, and are not applied when the disk cannot keep them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { applyOperatorState, type OperatorState, restoreGuardParts } from '../../src/guard/guard-snapshot.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { TunnelGuard } from '../../src/guard/tunnel-guard.js';
import { GuardStore } from '../../src/store/guard-store.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('Tunnel Guard across a reload', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(`listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\n`);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('keeps learned domains and blocks, and switches to monitor mode', async () => {
    const guard = dw.server.guard;
    const t = Date.now() / 1000;
    blockLeaky(guard, t);
    const domainsBefore = guard.domains.size;
    const next = validateConfig(
      parseConfigText(
        `listen: ["127.0.0.1:${dw.port}"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\ndataDir: ${dw.dataDir}\nguard: { mode: monitor }\n`,
        'reload',
      ),
      'reload',
    );
    await dw.server.reload(next);
    assert.equal(dw.server.guard, guard, 'the same engine');
    assert.equal(guard.domains.size, domainsBefore);
    assert.ok(guard.activeBlocks(t + 10).some((b) => b.domain === 'leaky.test'));
    assert.equal(dw.server.snapshot().guard.mode, 'monitor');
  });
});

/** Blocks leaky.test with a tunnel-like stream of TXT queries from one client. */
function blockLeaky(guard: TunnelGuard, t: number): void {
  for (let i = 0; i < 30; i++)
    guard.observe({
      ts: t + i * 0.1,
      client: '10.0.0.9',
      labels: labelsFromText(`${'x'.repeat(10)}${i}abcdefghijklmnopqrstuvwxyz234567abcdefghij${i}.leaky.test`),
      qtype: 16,
    });
  assert.ok(
    guard.activeBlocks(t + 10).some((b) => b.domain === 'leaky.test'),
    'the tunnel-like stream was blocked',
  );
}

/** Fills the guard with learned domains and blocks leaky.test, as a tunnel would. */
function learnAndBlock(guard: TunnelGuard, t: number): void {
  for (let i = 0; i < 2000; i++)
    guard.observe({ ts: t, client: `10.1.${i % 50}.1`, labels: labelsFromText(`www.site-${i}.test`), qtype: 1 });
  blockLeaky(guard, t);
}

describe('Tunnel Guard operator decisions', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(`listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\n`);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('are saved in a small row of their own, not in a snapshot of what was learned, and apply over an older snapshot at restore', async () => {
    const guard = dw.server.guard;
    const store = dw.server.guardStore!;
    const t = Date.now() / 1000;
    learnAndBlock(guard, t);
    // A periodic snapshot, with the block and without any operator decision.
    const before = store.saves;
    dw.server.saveGuard(false);
    for (let i = 0; i < 500 && store.saves === before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(store.saves, before + 1, 'the periodic snapshot was written');

    dw.server.control({ cmd: 'allow', domain: 'www.trusted.test', seconds: 3600, who: 'tester' });
    dw.server.control({ cmd: 'unblock', domain: 'leaky.test', who: 'tester' });
    dw.server.control({ cmd: 'quarantine', client: '10.9.9.9', seconds: 3600, who: 'tester' });
    dw.server.control({ cmd: 'monitor', seconds: 600, who: 'tester' });
    assert.equal(store.saves, before + 1, 'no snapshot of the learned state was built or written for them');
    assert.equal(store.operatorSaves, 4);
    assert.deepEqual(
      store.auditLog(4).map((a) => a.action),
      ['allow', 'unblock', 'quarantine', 'monitor'],
    );

    // What a restart finds, even after kill -9: the older snapshot, then the operator row.
    const reopened = new GuardStore(join(dw.dataDir, 'dnsward.db'), (err) => assert.fail(String(err)));
    try {
      const restored = new TunnelGuard();
      restoreGuardParts(restored, reopened.load('guard')!.parts);
      assert.equal(restored.domains.size, guard.domains.size);
      assert.ok(
        restored.activeBlocks(t + 10).some((b) => b.domain === 'leaky.test'),
        'the snapshot is from before the unblock',
      );
      const monitorUntil = applyOperatorState(restored, reopened.loadOperator('guard') as OperatorState, t);
      assert.ok(!restored.activeBlocks(t + 10).some((b) => b.domain === 'leaky.test'), 'the unblock applies over it');
      assert.deepEqual(
        restored.overrides.map((o) => o.domain),
        ['trusted.test'],
      );
      assert.deepEqual(
        restored.quarantines.map((q) => q.client),
        ['10.9.9.9'],
      );
      assert.ok(monitorUntil !== null && monitorUntil > t, 'monitor mode comes back until its end');
    } finally {
      await reopened.close();
    }
  });
});

describe('an operator change the disk cannot keep', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward | undefined;
  let mountPoint: string;
  let mounted = false;

  before(async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'dnsward-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    mounted = true;
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\ndataDir: ${mountPoint}/data\nqueryLog: { mode: off }\n`,
    );
  });

  after(async () => {
    await dw?.stop().catch(() => undefined);
    await unbound?.stop();
    if (mounted) execFileSync('umount', [mountPoint]);
  });

  it('is not applied, says it could not be saved, and DNS goes on', async () => {
    const server = dw!.server;
    // Fill the file system to the last byte.
    const filler = join(mountPoint, 'filler');
    const chunk = Buffer.alloc(256 * 1024);
    let full = false;
    for (let i = 0; i < 64 && !full; i++) {
      try {
        appendFileSync(filler, chunk);
      } catch {
        full = true;
      }
    }
    for (let size = 32 * 1024; size >= 1; size >>= 1) {
      try {
        for (let i = 0; i < 8; i++) appendFileSync(filler, Buffer.alloc(size));
      } catch {
        // the next, smaller size may still fit
      }
    }
    assert.ok(full, 'the file system is full');

    assert.throws(
      () => server.control({ cmd: 'allow', domain: 'www.example.test', seconds: 3600, who: 'tester' }),
      /allow example\.test not applied: it could not be saved \(.*(full|disk).*\)/i,
    );
    assert.throws(
      () => server.control({ cmd: 'quarantine', client: '10.9.9.9', seconds: 3600, who: 'tester' }),
      /not applied/,
    );
    const blocks = server.control({ cmd: 'blocks', who: 'tester' }) as { allows: unknown[]; quarantines: unknown[] };
    assert.deepEqual(blocks.allows, [], 'the allow is not in effect');
    assert.deepEqual(blocks.quarantines, []);
    assert.equal(server.guard.overrides.length, 0);
    const answer = await dig('127.0.0.1', dw!.port, ['www.example.test', 'A']);
    assert.equal(answer.status, 'NOERROR');
    assert.ok(answer.answers.some((a) => a.includes('192.0.2.10')));
  });
});
