/** Event mappings (OCSF DNS Activity, ECS, CEF) and the file sink's age-based rotation. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { securityEvent } from '../../src/events/security-event.js';
import { formatEvent } from '../../src/events/sinks/event-format.js';
import { JsonlFileSink } from '../../src/events/sinks/jsonl-file-sink.js';
import { toOcsf } from '../../src/events/sinks/ocsf.js';

const blocked = securityEvent({
  type: 'domain_blocked',
  severity: 8,
  client: '192.0.2.7',
  domain: 'leaky.test',
  qname: 'aGVsbG8.leaky.test',
  action: 'block',
  enforced: true,
  incident: 'TG-0123abcd',
  leakedBytes: 312.5,
  samples: ['aGVsbG8.leaky.test'],
  reasons: ['312 B of encoded information'],
  stages: [
    { name: 'anatomy', score: 0, evidence: {} },
    { name: 'decision', score: 1, evidence: { action: 'block' } },
  ],
});

describe('event formats', () => {
  it('maps a block to OCSF DNS Activity (4003) with the security-control outcome and the trace unmapped', () => {
    const o = toOcsf(blocked) as Record<string, any>;
    assert.equal(o.class_uid, 4003);
    assert.equal(o.category_uid, 4);
    assert.equal(o.activity_id, 6);
    assert.equal(o.type_uid, 400306);
    assert.equal(o.severity_id, 4);
    assert.equal(o.action_id, 2);
    assert.equal(o.disposition_id, 2);
    assert.equal(o.time, Date.parse(blocked.time));
    assert.equal(o.src_endpoint.ip, '192.0.2.7');
    assert.equal(o.query.hostname, 'aGVsbG8.leaky.test');
    assert.equal(o.metadata.correlation_uid, 'TG-0123abcd');
    assert.equal(o.metadata.uid, blocked.id);
    assert.deepEqual(
      o.unmapped.dnsward.stages.map((s: { name: string }) => s.name),
      ['anatomy', 'decision'],
    );
  });

  it('reports monitor-mode detections as allowed and detected, and operator changes as activity Other', () => {
    const monitor = toOcsf({ ...blocked, enforced: false }) as Record<string, any>;
    assert.equal(monitor.action_id, 1);
    assert.equal(monitor.disposition_id, 15);
    const unblock = toOcsf(
      securityEvent({
        type: 'domain_unblocked',
        severity: 3,
        domain: 'leaky.test',
        operator: 'alice',
        reasons: ['unblock'],
        stages: [],
      }),
    ) as Record<string, any>;
    assert.equal(unblock.activity_id, 99);
    assert.equal(unblock.type_uid, 400399);
    assert.equal(unblock.activity_name, 'domain_unblocked');
    assert.equal(unblock.actor.user.name, 'alice');
  });

  it('writes the same event as dnsward JSON, OCSF, ECS and CEF', () => {
    assert.equal((JSON.parse(formatEvent(blocked, 'json')) as { incident: string }).incident, 'TG-0123abcd');
    assert.equal((JSON.parse(formatEvent(blocked, 'ocsf')) as { class_uid: number }).class_uid, 4003);
    assert.equal((JSON.parse(formatEvent(blocked, 'ecs')) as { rule: { id: string } }).rule.id, 'TG-0123abcd');
    assert.match(formatEvent(blocked, 'cef'), /^CEF:0\|dnsward\|dnsward\|\d+\.\d+\.\d+\|domain_blocked\|/);
  });

  it('rotates the JSONL file by age as well as by size', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dnsward-age-')), 'events.jsonl');
    let now = 1_000_000;
    const sink = new JsonlFileSink(path, 1 << 30, 3, 3_600_000, () => now, 'ocsf');
    await sink.write([blocked]);
    now += 1_800_000;
    await sink.write([blocked]);
    assert.ok(!existsSync(`${path}.1`), 'half an hour: same file');
    now += 1_800_000;
    await sink.write([blocked]);
    assert.ok(existsSync(`${path}.1`), 'an hour: rotated');
    assert.equal(readFileSync(`${path}.1`, 'utf8').trim().split('\n').length, 2);
    assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { class_uid: number }).class_uid, 4003);
  });
});
