/**
 * Views (split horizon): a zone answers only the policy groups and listeners its view names;
 * everyone else is answered as if the zone did not exist (another view of it, or the upstream).
 * Clients are told apart by their source address on loopback (dig -b 127.0.0.x).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dig } from '../helpers/dns-client.js';
import { runCli } from '../helpers/cli.js';
import { configProblems } from '../helpers/config.js';
import { startDnsward } from '../helpers/dnsward.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

// Serial 7: the upstream's SOAs (unbound's static zones) have serial 1, so a negative answer shows where it came from.
const SOA = '"@ 60 SOA ns hostmaster 7 3600 600 86400 60"';

/** The answer's addresses, and where it came from: the local zone (TTL 60, our SOA) or the upstream (TTL 300, its SOA). */
async function ask(
  port: number,
  source: string,
  name: string,
): Promise<{ status: string; from: string; addresses: string[] }> {
  const r = await dig('127.0.0.1', port, ['-b', source, name, 'A']);
  const ttls = new Set(r.answers.map((a) => a.split(/\s+/)[1]));
  const soaSerial = /\sSOA\s[^\n]*\s(\d+) 3600 600 86400 60/.exec(r.raw)?.[1];
  const local =
    r.flags.includes('aa') && (r.answers.length > 0 ? ttls.size === 1 && ttls.has('60') : soaSerial === '7');
  return {
    status: r.status,
    from: local ? 'zone' : 'upstream',
    addresses: r.answers.map((a) => a.split(/\s+/).pop()!).sort(),
  };
}

for (const threads of [0, 1]) {
  test(`two clients in different groups get different answers for the same name; others get the upstream's (threads: ${threads})`, async () => {
    // The public answer, from the upstream, for clients outside every view.
    const unbound = await UnboundServer.start({
      zones: ['5gc.example', 'mgmt.example'],
      records: ['nrf.5gc.example. 300 IN A 198.51.100.9', 'host.mgmt.example. 300 IN A 198.51.100.10'],
    });
    const mgmtPort = await freePort();
    const dw = await startDnsward(`
listen: ['127.0.0.1:@PORT@', { address: '127.0.0.1:${mgmtPort}', name: mgmt }]
upstreams: { servers: ['127.0.0.1:${unbound.port}'] }
threads: ${threads}
policy:
  groups:
    - { name: core, clients: [127.0.0.2/32] }
    - { name: staff, clients: [127.0.0.3/32] }
zones:
  - name: 5gc.example
    records: [${SOA}, "nrf 60 A 10.10.1.11"]
    view: { groups: [core] }
  - name: 5gc.example
    records: [${SOA}, "nrf 60 A 10.10.2.22"]
    view: { groups: [staff] }
  - name: mgmt.example
    records: [${SOA}, "host 60 A 10.99.0.1"]
    view: { listeners: [mgmt] }
`);
    try {
      assert.deepEqual(await ask(dw.port, '127.0.0.2', 'nrf.5gc.example'), {
        status: 'NOERROR',
        from: 'zone',
        addresses: ['10.10.1.11'],
      });
      assert.deepEqual(await ask(dw.port, '127.0.0.3', 'nrf.5gc.example'), {
        status: 'NOERROR',
        from: 'zone',
        addresses: ['10.10.2.22'],
      });
      // No group: the zone does not exist for this client, the upstream answers.
      assert.deepEqual(await ask(dw.port, '127.0.0.1', 'nrf.5gc.example'), {
        status: 'NOERROR',
        from: 'upstream',
        addresses: ['198.51.100.9'],
      });
      // Outside its view, a name the zone does not have is not the zone's NXDOMAIN either.
      assert.deepEqual(await ask(dw.port, '127.0.0.1', 'other.5gc.example'), {
        status: 'NXDOMAIN',
        from: 'upstream',
        addresses: [],
      });
      assert.deepEqual(await ask(dw.port, '127.0.0.2', 'other.5gc.example'), {
        status: 'NXDOMAIN',
        from: 'zone',
        addresses: [],
      });

      // By listener: the management listener gets the zone, the main one the upstream's answer.
      assert.deepEqual(await ask(mgmtPort, '127.0.0.1', 'host.mgmt.example'), {
        status: 'NOERROR',
        from: 'zone',
        addresses: ['10.99.0.1'],
      });
      assert.deepEqual(await ask(dw.port, '127.0.0.1', 'host.mgmt.example'), {
        status: 'NOERROR',
        from: 'upstream',
        addresses: ['198.51.100.10'],
      });
    } finally {
      await dw.stop();
      await unbound.stop();
    }
  });
}

test('a view naming an unknown group or listener is a config error naming the key and what was expected', async () => {
  const zone = (view: string) =>
    `listen: ['127.0.0.1:5353']\npolicy:\n  groups: [{ name: core, clients: [10.0.0.0/8] }]\nzones:\n  - name: 5gc.example\n    records: [${SOA}]\n    view: ${view}\n`;
  assert.match(
    configProblems(zone('{ groups: [core, nosuch] }'))[0],
    /zones\[0\]\.view\.groups\[1\]: expected the name of a group in policy\.groups \(core\), got "nosuch"/,
  );
  assert.match(
    configProblems(zone('{ listeners: [lan] }'))[0],
    /zones\[0\]\.view\.listeners\[0\]: expected the name or address of a listener in listen, dot or doh \(127\.0\.0\.1:5353\), got "lan"/,
  );
  assert.match(configProblems(zone('{}'))[0], /zones\[0\]\.view: expected groups .* and\/or listeners/);
  // A zone without a view answers every query: another view of it after that one would never answer.
  const twice = `zones:\n  - name: 5gc.example\n    records: [${SOA}]\n  - name: 5gc.example\n    records: [${SOA}]\n    view: { listeners: ['127.0.0.1:5353'] }\n`;
  assert.match(
    configProblems(`listen: ['127.0.0.1:5353']\n${twice}`)[0],
    /zones\[1\]\.name: zone 5gc\.example is configured twice/,
  );

  const dir = mkdtempSync(join(tmpdir(), 'dnsward-zone-view-'));
  const file = join(dir, 'views.yaml');
  writeFileSync(file, zone('{ groups: [nosuch] }'));
  const r = await runCli(['check-config', file]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /zones\[0\]\.view\.groups\[0\]: expected the name of a group in policy\.groups \(core\), got "nosuch"/,
  );
  writeFileSync(file, zone('{ groups: [core] }'));
  const ok = await runCli(['check-config', file]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /local zone 5gc\.example: 1 records from records, view: groups core/);
});
