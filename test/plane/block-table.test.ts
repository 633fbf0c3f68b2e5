import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { BlockHit, BlockKind, BlockTable, MAX_ENTRIES, QUARANTINE } from '../../src/plane/block-table.js';

/** A query's wire form (header + name), as the I/O thread's request holds it. */
function request(name: string): Uint8Array {
  const parts: number[] = new Array(12).fill(0);
  for (const label of name.split('.')) parts.push(label.length, ...Buffer.from(label));
  parts.push(0, 0, 1, 0, 1);
  return Uint8Array.from(parts);
}

const NOW = 1_800_000_000;
const lookup = (t: BlockTable, name: string, client = '192.0.2.7', now = NOW) => {
  const hit = new BlockHit();
  const kind = t.lookup(request(name), 12, client, now, hit);
  return { kind, text: kind === 0 ? '' : hit.reasonText() };
};

describe('the shared block table', () => {
  it('blocks a registered domain and every name under it, case-insensitively, and nothing else', () => {
    const t = new BlockTable(BlockTable.allocate());
    t.publish([
      {
        kind: BlockKind.DOMAIN,
        domain: 'tunnel.example',
        until: NOW + 60,
        text: 'Tunnel Guard: too much [incident TG-1]',
      },
    ]);
    assert.deepEqual(lookup(t, 'tunnel.example'), {
      kind: BlockKind.DOMAIN,
      text: 'Tunnel Guard: too much [incident TG-1]',
    });
    assert.equal(lookup(t, 'aGVsbG8.x.TUNNEL.example').kind, BlockKind.DOMAIN);
    assert.equal(lookup(t, 'nottunnel.example').kind, 0);
    assert.equal(lookup(t, 'example').kind, 0, 'the public suffix itself is not blocked');
    assert.equal(lookup(t, 'www.other.test').kind, 0);
  });

  it('lets a block lapse at its end time without a new publish', () => {
    const t = new BlockTable(BlockTable.allocate());
    t.publish([{ kind: BlockKind.DOMAIN, domain: 'tunnel.example', until: NOW + 60, text: 'x' }]);
    assert.equal(lookup(t, 'a.tunnel.example', '192.0.2.7', NOW + 59).kind, BlockKind.DOMAIN);
    assert.equal(lookup(t, 'a.tunnel.example', '192.0.2.7', NOW + 60).kind, 0);
  });

  it('blocks a client-scoped domain for that client only', () => {
    const t = new BlockTable(BlockTable.allocate());
    t.publish([
      {
        kind: BlockKind.CLIENT_DOMAIN,
        domain: 'shared.example',
        client: '192.0.2.7',
        until: NOW + 60,
        text: 'one client',
      },
    ]);
    assert.equal(lookup(t, 'q.shared.example', '192.0.2.7').kind, BlockKind.CLIENT_DOMAIN);
    assert.equal(lookup(t, 'q.shared.example', '192.0.2.8').kind, 0);
  });

  it('replaces the whole set on publish: a lifted block is gone', () => {
    const t = new BlockTable(BlockTable.allocate());
    t.publish([
      { kind: BlockKind.DOMAIN, domain: 'a.example', until: NOW + 60, text: 'a' },
      { kind: BlockKind.DOMAIN, domain: 'b.example', until: NOW + 60, text: 'b' },
    ]);
    assert.equal(t.size, 2);
    t.publish([{ kind: BlockKind.DOMAIN, domain: 'b.example', until: NOW + 60, text: 'b' }]);
    assert.equal(lookup(t, 'x.a.example').kind, 0);
    assert.equal(lookup(t, 'x.b.example').kind, BlockKind.DOMAIN);
    assert.equal(t.size, 1);
  });

  it('quarantines client ranges and exempts allowed clients and domains', () => {
    const t = new BlockTable(BlockTable.allocate());
    t.publish([{ kind: BlockKind.DOMAIN, domain: 'tunnel.example', until: NOW + 60, text: 'blocked' }]);
    t.publishLists({
      quarantines: [{ client: '198.51.100.0/24', until: NOW + 60, text: 'quarantined' }],
      allows: [{ client: '192.0.2.99', domain: 'tunnel.example', until: NOW + 60 }],
    });
    assert.deepEqual(lookup(t, 'www.anything.test', '198.51.100.4'), { kind: QUARANTINE, text: 'quarantined' });
    assert.equal(lookup(t, 'www.anything.test', '198.51.101.4').kind, 0);
    assert.equal(lookup(t, 'q.tunnel.example', '192.0.2.99').kind, 0, 'allowed for this client');
    assert.equal(lookup(t, 'q.tunnel.example', '192.0.2.98').kind, BlockKind.DOMAIN);
    t.publishLists({ quarantines: [], allows: [] });
    assert.equal(lookup(t, 'www.anything.test', '198.51.100.4').kind, 0);
  });

  it('keeps at most MAX_ENTRIES blocks and counts the rest', () => {
    const t = new BlockTable(BlockTable.allocate());
    const blocks = Array.from({ length: MAX_ENTRIES + 10 }, (_, i) => ({
      kind: BlockKind.DOMAIN,
      domain: `d${i}.example`,
      until: NOW + 60,
      text: 't',
    }));
    t.publish(blocks);
    assert.equal(t.size, MAX_ENTRIES);
    assert.equal(t.overflow, 10);
    assert.equal(lookup(t, 'x.d5.example').kind, BlockKind.DOMAIN);
  });

  it('is read by another thread from the same memory, and sees a new publish without a message', async () => {
    const t = new BlockTable(BlockTable.allocate());
    t.publish([{ kind: BlockKind.DOMAIN, domain: 'first.example', until: NOW + 60, text: 'first' }]);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module).then(({ BlockTable, BlockHit }) => {
        const t = new BlockTable(workerData.buffer);
        const req = (name) => { const p = new Array(12).fill(0); for (const l of name.split('.')) p.push(l.length, ...Buffer.from(l)); p.push(0); return Uint8Array.from(p); };
        parentPort.on('message', (name) => parentPort.postMessage(t.lookup(req(name), 12, '192.0.2.7', ${NOW}, new BlockHit())));
        parentPort.postMessage('ready');
      });`;
    const worker = new Worker(code, {
      eval: true,
      workerData: { buffer: t.buffer, module: new URL('../../src/plane/block-table.js', import.meta.url).href },
    });
    const ask = (name: string) =>
      new Promise<unknown>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage(name);
      });
    try {
      await new Promise((resolve) => worker.once('message', resolve));
      assert.equal(await ask('a.first.example'), BlockKind.DOMAIN);
      assert.equal(await ask('a.second.example'), 0);
      t.publish([{ kind: BlockKind.DOMAIN, domain: 'second.example', until: NOW + 60, text: 'second' }]);
      assert.equal(await ask('a.second.example'), BlockKind.DOMAIN);
      assert.equal(await ask('a.first.example'), 0);
    } finally {
      await worker.terminate();
    }
  });
});
