/** A configuration reload keeps what Tunnel Guard learned and its blocks, and applies the new mode. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { labelsFromText } from '../../src/guard/name-text.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('Tunnel Guard across a reload', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: ['www.example.test. 300 IN A 192.0.2.10'] });
    dw = await startDnsward(`listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\n`);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('keeps learned domains and blocks, and switches to monitor mode', async () => {
    const guard = dw.server.guard;
    const t = Date.now() / 1000;
    for (let i = 0; i < 30; i++) guard.observe({ ts: t + i * 0.1, client: '10.0.0.9', labels: labelsFromText(`${'x'.repeat(10)}${i}abcdefghijklmnopqrstuvwxyz234567abcdefghij${i}.leaky.test`), qtype: 16 });
    const domainsBefore = guard.domains.size;
    assert.ok(guard.activeBlocks(t + 10).some((b) => b.domain === 'leaky.test'), 'the tunnel-like stream was blocked');
    const next = validateConfig(parseConfigText(`listen: ["127.0.0.1:${dw.port}"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\ndataDir: ${dw.dataDir}\nguard: { mode: monitor }\n`, 'reload'), 'reload');
    await dw.server.reload(next);
    assert.equal(dw.server.guard, guard, 'the same engine');
    assert.equal(guard.domains.size, domainsBefore);
    assert.ok(guard.activeBlocks(t + 10).some((b) => b.domain === 'leaky.test'));
    assert.equal(dw.server.snapshot().guard.mode, 'monitor');
  });
});
