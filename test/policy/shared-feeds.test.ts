/**
 * Feeds loaded on the main thread, posted to a worker thread (feedsMessage / SharedFeeds): the
 * worker's PolicyEngine answers as the main thread's does, over the same tables in shared memory
 * (not copies); a reloaded feed goes out in a new message with new tables, and a worker's engine
 * over SharedFeeds takes it with update().
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { FeedManager } from '../../src/policy/feed-manager.js';
import { type GroupConfig, PolicyEngine } from '../../src/policy/policy-engine.js';
import { RuleSet } from '../../src/policy/rule-set.js';
import { RuleTableBuilder } from '../../src/policy/rule-table-builder.js';
import { feedsMessage, type SharedFeedsMessage } from '../../src/policy/shared-feeds.js';
import { type PolicyAsk, policyAnswers, type TableFacts, tableFacts } from '../helpers/policy-lookups.js';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-shared-feeds-'));
const HOSTS = join(dir, 'ads.hosts');
const RPZ = join(dir, 'rpz.zone');
writeFileSync(HOSTS, '# ads\n0.0.0.0 ads.example\n0.0.0.0 tracker.example\n127.0.0.1 telemetry.example\n');
writeFileSync(
  RPZ,
  `$TTL 300
@ IN SOA localhost. admin.localhost. ( 7 3600 600 86400 60 )
  IN NS localhost.
evil.example        CNAME .
*.evil.example      CNAME .
fine.evil.example   CNAME rpz-passthru.
garden.example      A 192.0.2.80
32.5.2.0.192.rpz-ip CNAME .
32.9.0.0.127.rpz-client-ip CNAME *.
`,
);

const GROUP: GroupConfig = {
  name: 'everyone',
  clients: [],
  listeners: [],
  feeds: ['rpz'],
  categories: ['ads'],
  allow: ['ok.ads.example'],
  action: 'nxdomain',
  mode: 'block',
};
const POLICY = { groups: [GROUP], dohCanary: false, trustEcsFrom: [] };
const ASK: PolicyAsk = {
  clients: ['127.0.0.1', '127.0.0.9'],
  names: [
    'ads.example',
    'x.ads.example',
    'ok.ads.example',
    'tracker.example',
    'telemetry.example',
    'new.example',
    'evil.example',
    'a.evil.example',
    'fine.evil.example',
    'garden.example',
    'absent.example',
  ],
  addresses: ['192.0.2.5', '192.0.2.6'],
};

// The worker keeps one PolicyEngine over one SharedFeeds: the first message makes them, later ones update the feeds.
const WORKER = `
  const { parentPort } = await import('node:worker_threads');
  const { SharedFeeds } = await import(${JSON.stringify(new URL('../../src/policy/shared-feeds.js', import.meta.url).href)});
  const { PolicyEngine } = await import(${JSON.stringify(new URL('../../src/policy/policy-engine.js', import.meta.url).href)});
  const { policyAnswers, tableFacts } = await import(${JSON.stringify(new URL('../helpers/policy-lookups.js', import.meta.url).href)});
  let feeds;
  let engine;
  parentPort.on('message', (m) => {
    if (feeds === undefined) {
      feeds = new SharedFeeds(m.feeds);
      engine = new PolicyEngine(feeds, m.policy);
    } else feeds.update(m.feeds);
    parentPort.postMessage({ answers: policyAnswers(engine, m.ask), tables: tableFacts(feeds) });
  });`;

interface WorkerReply {
  answers: string[];
  tables: Record<string, TableFacts>;
}

/** Posts the feeds to the worker and waits (at most 5 s) for its answers. */
async function askWorker(worker: Worker, feeds: SharedFeedsMessage): Promise<WorkerReply> {
  const reply = new Promise<WorkerReply>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  worker.postMessage({ feeds, policy: POLICY, ask: ASK });
  return Promise.race([
    reply,
    sleep(5000, undefined, { ref: false }).then(() =>
      Promise.reject(new Error('no answer from the worker within 5 s')),
    ),
  ]);
}

describe('feeds shared with worker threads', () => {
  let manager: FeedManager;
  let worker: Worker;

  before(async () => {
    manager = new FeedManager([
      { name: 'ads', category: 'ads', format: 'hosts', path: HOSTS, refreshMs: 3_600_000 },
      { name: 'rpz', category: 'malware', format: 'rpz', path: RPZ, zone: 'rpz.test', refreshMs: 3_600_000 },
    ]);
    assert.deepEqual(await Promise.all([manager.refresh('ads'), manager.refresh('rpz')]), [true, true]);
    worker = new Worker(WORKER, { eval: true, type: 'module' } as never);
  });

  after(async () => {
    await worker?.terminate();
    await manager?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers in a worker as on the main thread, over the same tables in shared memory', async () => {
    const main = policyAnswers(new PolicyEngine(manager, POLICY), ASK);
    const ads = manager.feeds.get('ads')!.version;
    // What the feeds say (so that equal answers are not equally empty).
    assert.deepEqual(
      main.filter((a) => a.startsWith('127.0.0.1 ')),
      [
        `127.0.0.1 ads.example: nxdomain by ads (${ads}) "0.0.0.0 ads.example"`,
        '127.0.0.1 x.ads.example: pass',
        '127.0.0.1 ok.ads.example: pass',
        `127.0.0.1 tracker.example: nxdomain by ads (${ads}) "0.0.0.0 tracker.example"`,
        `127.0.0.1 telemetry.example: nxdomain by ads (${ads}) "0.0.0.0 telemetry.example"`,
        '127.0.0.1 new.example: pass',
        '127.0.0.1 evil.example: nxdomain by rpz (serial 7) "evil.example CNAME ."',
        '127.0.0.1 a.evil.example: nxdomain by rpz (serial 7) "*.evil.example CNAME ."',
        '127.0.0.1 fine.evil.example: pass',
        '127.0.0.1 garden.example: local-data by rpz (serial 7) "garden.example A 192.0.2.80"',
        '127.0.0.1 absent.example: pass',
        '127.0.0.1 answer 192.0.2.5: nxdomain by rpz (serial 7) "32.5.2.0.192.rpz-ip CNAME ."',
        '127.0.0.1 answer 192.0.2.6: pass',
      ],
    );
    // The client-IP rule: every name from 127.0.0.9 but the allowed one gets NODATA from the rpz feed, before the ads feed is asked.
    assert.ok(main.includes('127.0.0.9 ok.ads.example: pass'), main.join('\n'));
    assert.ok(
      main
        .filter((a) => a.startsWith('127.0.0.9 ') && !a.includes(' answer ') && !a.includes(' ok.ads.example:'))
        .every((a) => a.endsWith('nodata by rpz (serial 7) "32.9.0.0.127.rpz-client-ip CNAME *."')),
      main.join('\n'),
    );

    const reply = await askWorker(worker, feedsMessage(manager));
    assert.deepEqual(reply.answers, main);
    const here = tableFacts(manager);
    assert.deepEqual(Object.keys(here).sort(), ['ads', 'rpz']);
    for (const facts of Object.values(here))
      assert.ok(facts.slotsShared && facts.filterShared && facts.slotsBytes > 0, JSON.stringify(facts));
    // Shared memory on both sides, of the same sizes: the worker reads these tables, not copies.
    assert.deepEqual(reply.tables, here);
  });

  it('sends a reloaded feed as new tables, leaving the old ones as they were, and a worker engine takes them', async () => {
    const before = feedsMessage(manager);
    const oldTable = before.feeds.find((f) => f.config.name === 'ads')!.table!;
    const oldSlots = Buffer.from(oldTable.slots.buffer, oldTable.slots.byteOffset, oldTable.slots.byteLength).toString(
      'hex',
    );

    writeFileSync(HOSTS, '# ads\n0.0.0.0 tracker.example\n127.0.0.1 telemetry.example\n0.0.0.0 new.example\n');
    // A modification time of its own, whatever the file system's clock resolution.
    utimesSync(HOSTS, new Date(), new Date(Date.now() + 60_000));
    assert.equal(await manager.refresh('ads'), true);
    const next = feedsMessage(manager);
    const newTable = next.feeds.find((f) => f.config.name === 'ads')!.table!;
    assert.notEqual(
      next.feeds.find((f) => f.config.name === 'ads')!.version,
      before.feeds.find((f) => f.config.name === 'ads')!.version,
    );
    assert.ok(newTable.slots.buffer instanceof SharedArrayBuffer);
    assert.notEqual(newTable.slots.buffer, oldTable.slots.buffer);
    assert.notEqual(
      Buffer.from(newTable.slots.buffer, newTable.slots.byteOffset, newTable.slots.byteLength).toString('hex'),
      oldSlots,
    );
    // A thread still reading the old version reads it unchanged: a reload never writes in place.
    assert.equal(
      Buffer.from(oldTable.slots.buffer, oldTable.slots.byteOffset, oldTable.slots.byteLength).toString('hex'),
      oldSlots,
    );
    // The unchanged feed goes out as the same shared table.
    assert.equal(
      next.feeds.find((f) => f.config.name === 'rpz')!.table!.slots.buffer,
      before.feeds.find((f) => f.config.name === 'rpz')!.table!.slots.buffer,
    );

    const main = policyAnswers(new PolicyEngine(manager, POLICY), ASK);
    const ads = manager.feeds.get('ads')!.version;
    assert.ok(main.includes('127.0.0.1 ads.example: pass'), main.join('\n'));
    assert.ok(main.includes(`127.0.0.1 new.example: nxdomain by ads (${ads}) "0.0.0.0 new.example"`), main.join('\n'));
    // The worker's engine was made with the first message; update() alone brings it the new version.
    const reply = await askWorker(worker, next);
    assert.deepEqual(reply.answers, main);
    assert.deepEqual(reply.tables, tableFacts(manager));
  });

  it('refuses to describe a table that is not in shared memory (posting it would copy it per thread)', () => {
    const m = new FeedManager([
      { name: 'plain', category: 'ads', format: 'domains', path: HOSTS, refreshMs: 3_600_000 },
    ]);
    const b = new RuleTableBuilder();
    b.addName('ads.example', 'subtree', 'block', 1);
    m.feeds.get('plain')!.rules = new RuleSet(b.build());
    assert.throws(() => feedsMessage(m), /plain: its rule table is not in shared memory/);
  });
});
