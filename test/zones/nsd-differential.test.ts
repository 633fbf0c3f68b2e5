/**
 * The same master file served by dnsward's local zones and by a real NSD: identical answers
 * (rcode, AA, answer and authority sections, TTLs included; order and name case normalised)
 * over probes covering NAPTR, SRV, MX, PTR, TXT, wildcards, empty non-terminals, CNAME chains
 * inside and out of the zone, NXDOMAIN and NODATA.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decode, encode, type Answer, type Packet } from 'dns-packet';
import { udpExchange } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { NsdServer } from '../helpers/nsd.js';
import { UnboundServer } from '../helpers/unbound.js';
import { FIVE_G_ZONE, PROBES } from '../helpers/five-g-zone.js';

let nsd: NsdServer;
let unbound: UnboundServer;
let dnsward: RunningDnsward;
let id = 1;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-zone-'));
  const file = join(dir, '5gc.example.zone');
  writeFileSync(file, FIVE_G_ZONE);
  nsd = await NsdServer.start([{ name: '5gc.example', file }]);
  // An upstream for everything outside the zone, so a name that leaked past the zone stage would show.
  unbound = await UnboundServer.start({
    zones: ['other.example'],
    records: ['www.other.example. 300 IN A 198.51.100.1'],
  });
  dnsward = await startDnsward(`
listen: ['127.0.0.1:@PORT@']
upstreams: { servers: ['127.0.0.1:${unbound.port}'] }
zones:
  - name: 5gc.example
    file: ${file}
`);
});

after(async () => {
  await dnsward?.stop();
  await nsd?.stop();
  await unbound?.stop();
});

type Reply = Packet & { rcode?: string; answers?: Array<Answer & { data?: unknown }> };

async function ask(port: number, name: string, type: string, edns: boolean): Promise<Reply> {
  const query: Packet = {
    id: id++ & 0xffff,
    type: 'query',
    flags: 0,
    questions: [{ name, type: type as never, class: 'IN' }],
  };
  if (edns) query.additionals = [{ name: '.', type: 'OPT', udpPayloadSize: 1232, flags: 0, options: [] } as never];
  const reply = await udpExchange('127.0.0.1', port, encode(query), 2000);
  assert.ok(reply, `no answer from port ${port} to ${name} ${type}`);
  return decode(reply) as Reply;
}

function normal(records: Answer[] | undefined): string[] {
  return (records ?? [])
    .map((r) =>
      JSON.stringify({ ...r, name: r.name.toLowerCase(), data: (r as { data?: unknown }).data }, (_, v) =>
        typeof v === 'string' ? v.toLowerCase() : v,
      ),
    )
    .sort();
}

function view(p: Reply) {
  return {
    rcode: p.rcode,
    aa: (p.flags! & 0x0400) !== 0,
    answers: normal(p.answers),
    authorities: normal(p.authorities),
  };
}

for (const edns of [false, true]) {
  test(`local zone answers are NSD's, probe by probe (${edns ? 'with' : 'without'} EDNS)`, async () => {
    for (const [name, type] of PROBES) {
      const expected = view(await ask(nsd.port, name, type, edns));
      const actual = view(await ask(dnsward.port, name, type, edns));
      assert.deepEqual(actual, expected, `${name} ${type}`);
    }
  });
}

test('the probes cover what they claim: NAPTR, SRV, wildcard, a CNAME chain, NXDOMAIN and NODATA', async () => {
  const naptr = await ask(dnsward.port, '5gc.example', 'NAPTR', false);
  assert.equal(naptr.answers?.length, 2);
  const chain = await ask(dnsward.port, 'smf.5gc.example', 'A', false);
  assert.deepEqual(
    chain.answers?.map((a) => a.type),
    ['CNAME', 'CNAME', 'A'],
  );
  const wild = await ask(dnsward.port, 'x.upf.5gc.example', 'A', false);
  assert.equal(wild.answers?.[0].name, 'x.upf.5gc.example');
  const nx = await ask(dnsward.port, 'nothere.5gc.example', 'A', false);
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities?.[0].type, 'SOA');
  const nodata = await ask(dnsward.port, 'nrf.5gc.example', 'NAPTR', false);
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.answers?.length, 0);
  assert.equal(nodata.authorities?.[0].type, 'SOA');
  assert.equal((nodata.flags! & 0x0400) !== 0, true);
});

test('names outside the zones still go to the upstream', async () => {
  const other = await ask(dnsward.port, 'www.other.example', 'A', false);
  assert.equal(other.rcode, 'NOERROR');
  assert.equal(other.answers?.[0].data, '198.51.100.1');
});
