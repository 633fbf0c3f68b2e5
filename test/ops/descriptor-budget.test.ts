import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { makeSelfSignedCert } from '../helpers/certificates.js';
import {
  budgetDescriptors,
  configDemand,
  DNS_TCP_FLOOR,
  MANAGEMENT_FLOOR,
  openFileLimit,
  RESERVE,
  THREAD_OVERHEAD,
} from '../../src/ops/descriptor-budget.js';

describe('descriptor budget', () => {
  const demand = { dnsFixed: 40, dnsTcp: 1000, management: { console: 64, metrics: 16, control: 16 } };

  it('keeps every cap when the limit holds them all', () => {
    const b = budgetDescriptors(20_000, demand);
    assert.deepEqual(b, { limit: 20_000, dnsTcp: 1000, management: demand.management, reduced: [] });
  });

  it('cuts the management listeners before DNS TCP, and the sum fits the limit', () => {
    const limit = RESERVE + demand.dnsFixed + demand.dnsTcp + 50;
    const b = budgetDescriptors(limit, demand);
    assert.equal(b.dnsTcp, 1000, 'DNS TCP keeps its cap');
    const management = Object.values(b.management).reduce((a, c) => a + c, 0);
    assert.ok(management <= 50, `management shrank to ${management}`);
    assert.ok(b.management.console > b.management.metrics, 'in proportion to the caps asked for');
    assert.ok(b.reduced.some((r) => r.startsWith('console connections 64 ->')));
  });

  it('cuts DNS TCP only once management is at its floor, and the whole fits the limit', () => {
    const b = budgetDescriptors(1024, demand);
    for (const cap of Object.values(b.management)) assert.equal(cap, MANAGEMENT_FLOOR);
    const management = 3 * MANAGEMENT_FLOOR;
    assert.equal(b.dnsTcp, 1024 - RESERVE - demand.dnsFixed - management);
    assert.ok(b.reduced.some((r) => r.startsWith('DNS TCP connections 1000 ->')));
  });

  it('never goes below the floors, even when nothing fits', () => {
    const b = budgetDescriptors(64, demand);
    assert.equal(b.dnsTcp, DNS_TCP_FLOOR);
    for (const cap of Object.values(b.management)) assert.equal(cap, MANAGEMENT_FLOOR);
  });

  it("reads this process's limit on Linux", () => {
    const limit = openFileLimit();
    assert.ok(limit === null || limit >= 64, `limit ${limit}`);
  });

  it("counts each I/O thread's UDP listener and upstream sockets, and TCP listeners once", () => {
    const config = validateConfig(
      parseConfigText(
        'listen: ["127.0.0.1:5353", "[::1]:5353"]\nupstreams:\n  servers: ["127.0.0.1:53", "127.0.0.2:53"]\n  sockets: 4\n',
        'test.yaml',
      ),
      'test.yaml',
    );
    const inline = configDemand(config, 0).dnsFixed;
    const threaded = configDemand(config, 3).dnsFixed;
    // Per upstream and plane: 4 sockets, 4 retiring, a TCP connection and a health check.
    assert.equal(inline, 2 * 2 + 2 * 10);
    assert.equal(threaded, 2 * (1 + 3) + 3 * 2 * 10 + 3 * THREAD_OVERHEAD);
  });

  it('counts DoT and DoH listeners and their connections', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-fd-tls-'));
    const f = makeSelfSignedCert(dir, 'fd');
    const tls = `dot: [{ listen: "127.0.0.1:8853", cert: "${f.cert}", key: "${f.key}" }]\ndoh: [{ listen: "127.0.0.1:8443", cert: "${f.cert}", key: "${f.key}" }]\n`;
    const config = validateConfig(
      parseConfigText(
        `listen: ["127.0.0.1:5353"]\nupstreams: { servers: ["127.0.0.1:53"] }\ntcp: { maxConnections: 100 }\n${tls}`,
        'test.yaml',
      ),
      'test.yaml',
    );
    const demand = configDemand(config, 0);
    assert.equal(demand.dnsTcp, 300, 'TCP, DoT and DoH: 100 connections each');
    assert.equal(demand.dnsFixed, 1 * 2 + 2 + 1 * (config.upstreams.sockets * 2 + 2));
  });
});
