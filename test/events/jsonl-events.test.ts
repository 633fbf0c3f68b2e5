/** Security events reach a JSONL file with their stage trace, off the query path, and rotate by size. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventBus } from '../../src/events/event-bus.js';
import { securityEvent } from '../../src/events/security-event.js';
import { JsonlFileSink } from '../../src/events/sinks/jsonl-file-sink.js';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('security events to a JSONL file', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-events-'));

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nevents: { file: { path: ${join(dir, 'events.jsonl')} } }\n`,
    );
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('writes a domain_blocked event with the incident, samples and all five stages', async () => {
    const r = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.leaky-events.test`,
        'TXT',
      ]);
    await dw.server.events.drain();
    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            domain: string;
            incident: string;
            stages: Array<{ name: string }>;
            client: string;
            enforced: boolean;
          },
      );
    const blocked = events.find((e) => e.type === 'domain_blocked');
    assert.ok(blocked, JSON.stringify(events.map((e) => e.type)));
    assert.equal(blocked.domain, 'leaky-events.test');
    assert.equal(blocked.client, '127.0.0.1');
    assert.equal(blocked.enforced, true);
    assert.match(blocked.incident, /^TG-[0-9a-f]{8}$/);
    assert.deepEqual(
      blocked.stages.map((s) => s.name),
      ['anatomy', 'query', 'state', 'normal', 'decision'],
    );
    assert.equal(dw.server.snapshot().events.dropped, 0);
  });

  it('rotates the file by size and drops the oldest events, counted, when the queue is full', async () => {
    const path = join(dir, 'rotating.jsonl');
    const bus = new EventBus([new JsonlFileSink(path, 2000, 2)], 100);
    for (let i = 0; i < 150; i++)
      bus.publish(
        securityEvent({
          type: 'tunnel_detected',
          severity: 5,
          domain: `d${i}.test`,
          reasons: ['x'.repeat(50)],
          stages: [],
        }),
      );
    assert.equal(bus.dropped, 50, 'the bounded queue kept 100 of 150 published in one turn');
    await bus.drain();
    // Rotation happens between batches: a few more turns of events.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 30; i++)
        bus.publish(
          securityEvent({
            type: 'tunnel_detected',
            severity: 5,
            domain: `r${round}-${i}.test`,
            reasons: ['x'.repeat(50)],
            stages: [],
          }),
        );
      await bus.drain();
    }
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`) && !existsSync(`${path}.3`), 'two rotated files kept');
    const last = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { domain: string });
    assert.equal(last[last.length - 1].domain, 'r3-29.test');
  });
});
