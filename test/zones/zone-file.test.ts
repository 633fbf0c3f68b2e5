import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildZone } from '../../src/zones/local-zone.js';
import { parseZoneText, ZoneFileError } from '../../src/zones/zone-file.js';
import { configProblems, loadConfigText } from '../helpers/config.js';

const parse = (text: string, origin = 'example.test') => parseZoneText(text, { origin, file: 'z.zone' });

function failure(text: string, origin = 'example.test'): ZoneFileError {
  try {
    buildZone(origin, parse(text, origin), 'z.zone');
  } catch (err) {
    if (err instanceof ZoneFileError) return err;
    throw err;
  }
  return assert.fail('expected a zone file error');
}

const SOA = '@ 3600 IN SOA ns hostmaster 1 3600 600 86400 60\n';

test('reads $ORIGIN, $TTL, @, relative and absolute names, blank owners, parentheses and comments', () => {
  const records = parse(`$TTL 1h ; one hour
@ IN SOA ns hostmaster (
   7      ; serial
   3600 600 86400 60 )
www      A 192.0.2.1
         IN 120 AAAA 2001:db8::1
$ORIGIN sub.example.test.
a        CNAME www.example.test.
b 30 TXT "a \\"quoted\\" string" plain ; comment
srv  SRV 1 2 3 @
`);
  assert.deepEqual(
    records.map((r) => [r.name, r.type, r.ttl, r.line]),
    [
      ['example.test', 'SOA', 3600, 2],
      ['www.example.test', 'A', 3600, 5],
      ['www.example.test', 'AAAA', 120, 6],
      ['a.sub.example.test', 'CNAME', 3600, 8],
      ['b.sub.example.test', 'TXT', 30, 9],
      ['srv.sub.example.test', 'SRV', 3600, 10],
    ],
  );
  assert.deepEqual(records[0].data, {
    mname: 'ns.example.test',
    rname: 'hostmaster.example.test',
    serial: 7,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 60,
  });
  assert.deepEqual(records[4].data, ['a "quoted" string', 'plain']);
  assert.deepEqual(records[5].data, { priority: 1, weight: 2, port: 3, target: 'sub.example.test' });
});

test('NAPTR with its quoted fields and an empty regexp', () => {
  const [r] = parse('@ 60 IN NAPTR 100 50 "s" "x-3gpp-nrf:x-nnrf" "" _nrf._tcp\n');
  assert.deepEqual(r.data, {
    order: 100,
    preference: 50,
    flags: 's',
    services: 'x-3gpp-nrf:x-nnrf',
    regexp: '',
    replacement: '_nrf._tcp.example.test',
  });
});

test('every error names the line and the reason', () => {
  const cases: Array<[string, number, RegExp]> = [
    [`${SOA}www A 192.0.2.300\n`, 2, /A: "192.0.2.300" is not an IPv4 address/],
    [`${SOA}\nwww 60 IN HINFO "x" "y"\n`, 3, /record type "HINFO" is not supported/],
    [`${SOA}www 60 CH A 192.0.2.1\n`, 2, /class CH is not served/],
    [`${SOA}www 60 IN SRV 1 2 http target\n`, 2, /SRV: expected a port \(0-65535\), got "http"/],
    [`${SOA}www 60 IN MX 10\n`, 2, /MX: expected PREFERENCE EXCHANGE, got 1 field/],
    [`${SOA}www 60 IN A (192.0.2.1\n`, 2, /a "\(" is never closed/],
    [`${SOA}www 60 IN TXT "open\n`, 2, /quoted string is not closed/],
    [`${SOA}$INCLUDE other.zone\n`, 2, /\$INCLUDE is not supported/],
    [`${SOA}$ORIGIN relative\n`, 2, /\$ORIGIN must be an absolute name/],
    ['www A 192.0.2.1\n', 1, /no TTL/],
    [`${SOA}www.other.test. 60 A 192.0.2.1\n`, 2, /www.other.test is outside the zone example.test/],
    [`${SOA}sub 60 NS ns.elsewhere.\n`, 2, /would delegate/],
    [`${SOA}www 60 CNAME a\nwww 60 A 192.0.2.1\n`, 3, /has a CNAME and other data/],
    [`${SOA}${SOA}`, 2, /a second SOA \(the first is on line 1\)/],
    ['$TTL 60\nwww A 192.0.2.1\n', 1, /no SOA record at its apex/],
    [`${SOA}${'a'.repeat(64)} 60 A 192.0.2.1\n`, 2, /label longer than 63 bytes/],
    [`${SOA}www 99999999999 A 192.0.2.1\n`, 2, /is not a TTL/],
  ];
  for (const [text, line, reason] of cases) {
    const err = failure(text);
    assert.equal(err.file, 'z.zone', text);
    assert.equal(err.line, line, `${text} -> ${err.message}`);
    assert.match(err.reason, reason, text);
    assert.match(err.message, new RegExp(`^z\\.zone line ${line}: `));
  }
});

test('a bad zone in the config is refused naming the zone, file, line and reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-zonefile-'));
  const file = join(dir, 'bad.zone');
  writeFileSync(file, `${SOA}nrf 60 IN A 10.0.0.999\n`);
  const [problem] = configProblems(`zones:\n  - name: example.test\n    file: ${file}\n`);
  assert.match(
    problem,
    new RegExp(
      `zones\\[0\\]: zone example.test: ${file.replaceAll('.', '\\.')} line 2: A: "10.0.0.999" is not an IPv4 address`,
    ),
  );
  assert.match(
    configProblems(`zones:\n  - name: example.test\n    file: ${join(dir, 'missing.zone')}\n`)[0],
    /cannot read .*missing\.zone/,
  );
  assert.match(configProblems('zones:\n  - name: example.test\n')[0], /either file .* or records/);
  assert.match(
    configProblems(
      `zones:\n  - name: example.test\n    records: ["${SOA.trim()}"]\n  - name: Example.Test.\n    records: ["${SOA.trim()}"]\n`,
    )[0],
    /configured twice/,
  );
  const inline = configProblems(
    'zones:\n  - name: example.test\n    records:\n      - "@ 60 SOA ns hm 1 2 3 4 5"\n      - "www 60 A nope"\n',
  );
  assert.match(inline[0], /zone example.test: records line 2: A: "nope" is not an IPv4 address/);
});

test('inline records load as a zone', () => {
  const config = loadConfigText(
    'zones:\n  - name: example.test\n    records:\n      - "@ 60 SOA ns hm 1 2 3 4 5"\n      - "www 60 A 192.0.2.1"\n',
  );
  assert.equal(config.zones[0].records.length, 2);
  assert.equal(config.zones[0].source, 'records');
});

test('a name whose records cannot fit one DNS message is refused; UTF-8 text keeps its bytes', () => {
  const many = Array.from({ length: 240 }, (_, i) => `big 60 TXT "${'x'.repeat(250)}${i}"`).join('\n');
  const err = failure(`${SOA}${many}\n`);
  assert.equal(err.line, 2);
  assert.match(err.reason, /the records of big.example.test take \d+ bytes, more than one DNS message can carry/);
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-zonefile-'));
  const file = join(dir, 'utf8.zone');
  writeFileSync(file, `${SOA}txt 60 TXT "café"\n`);
  const config = loadConfigText(`zones:\n  - name: example.test\n    file: ${file}\n`);
  assert.equal(Buffer.from((config.zones[0].records[1].data as string[])[0], 'latin1').toString('utf8'), 'café');
});

test("the console's read-only config view counts a zone's records instead of listing them", async () => {
  const { redactConfig } = await import('../../src/console/routes/data-routes.js');
  const view = redactConfig(
    loadConfigText(
      'zones:\n  - name: example.test\n    records:\n      - "@ 60 SOA ns hm 1 2 3 4 5"\n      - "www 60 A 192.0.2.1"\n',
    ),
  ) as { zones: Array<{ name: string; records: unknown }> };
  assert.deepEqual(
    view.zones.map((z) => [z.name, z.records]),
    [['example.test', '(2 records)']],
  );
});
