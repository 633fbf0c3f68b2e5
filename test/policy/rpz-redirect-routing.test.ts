/**
 * An RPZ redirect (QNAME trigger whose local data is a CNAME) to a name that only a forward
 * zone's server knows: the target is resolved where dnsward routes it, and the answer is the
 * CNAME followed by the target's records, as a real unbound loading the same RPZ zone answers.
 * Run on the I/O threads (the default) and inline.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-rpz-route-'));
const RPZ_FILE = join(dir, 'rpz.zone');
writeFileSync(
  RPZ_FILE,
  `$TTL 300
@ IN SOA localhost. admin.localhost. ( 3 3600 600 86400 60 )
  IN NS localhost.
n14.zone          CNAME n15.zone.
*.wild.zone       CNAME n15.zone.
outside.example   CNAME n16.zone.
missing.zone      CNAME gone.zone.
`,
);

const strip = (answers: string[]) =>
  answers
    .map((a) =>
      a
        .split(/\s+/)
        .filter((_, i) => i !== 1)
        .join(' '),
    )
    .sort();

describe('RPZ redirect to a name in a forward zone', () => {
  let origin: UnboundServer;
  let refusing: UnboundServer;
  let reference: UnboundServer;
  const servers: Array<[string, RunningDnsward]> = [];

  before(async () => {
    origin = await UnboundServer.start({
      zones: ['zone'],
      records: ['n15.zone. 300 IN A 192.0.2.15', 'n16.zone. 300 IN A 192.0.2.16', 'n15.zone. 300 IN TXT "fifteen"'],
    });
    // The default upstream knows nothing: a target resolved there would come back REFUSED.
    refusing = await UnboundServer.start({ zones: [], records: [] });
    reference = await UnboundServer.start({
      zones: [],
      records: [],
      moduleConfig: 'respip iterator',
      forwardTo: refusing.port,
      clauses: [
        'forward-zone:',
        '  name: "zone."',
        `  forward-addr: 127.0.0.1@${origin.port}`,
        'rpz:',
        '  name: rpz.test',
        `  zonefile: ${RPZ_FILE}`,
      ],
    });
    for (const threads of [0, 1]) {
      servers.push([
        `threads ${threads}`,
        await startDnsward(`listen: ["127.0.0.1:@PORT@"]
threads: ${threads}
upstreams: { servers: ["127.0.0.1:${refusing.port}"] }
forwardZones: [{ zone: zone, servers: ["127.0.0.1:${origin.port}"] }]
guard: { mode: off }
policy:
  feeds: [{ name: rpz, category: malware, path: "${RPZ_FILE}", zone: rpz.test }]
`),
      ]);
    }
  });

  after(async () => {
    for (const [, dw] of servers) await dw.stop();
    await reference?.stop();
    await refusing?.stop();
    await origin?.stop();
  });

  it('answers the CNAME and the target record, as unbound does', async () => {
    const differences: string[] = [];
    for (const [label, dw] of servers) {
      for (const name of ['n14.zone', 'a.wild.zone', 'outside.example', 'missing.zone']) {
        for (const type of ['A', 'TXT']) {
          const [ours, theirs] = await Promise.all([
            dig('127.0.0.1', dw.port, [name, type]),
            dig('127.0.0.1', reference.port, [name, type]),
          ]);
          const a = `${ours.status} ${strip(ours.answers).join(' | ')}`;
          const b = `${theirs.status} ${strip(theirs.answers).join(' | ')}`;
          if (a !== b) differences.push(`${label} ${name} ${type}: dnsward ${a}; unbound ${b}`);
        }
      }
    }
    assert.deepEqual(differences, []);
    const r = await dig('127.0.0.1', servers[1][1].port, ['n14.zone', 'A']);
    assert.deepEqual(strip(r.answers), ['n14.zone. IN CNAME n15.zone.', 'n15.zone. IN A 192.0.2.15']);
  });
});
