/** Feed formats and the hashed rule table: what each format means, and matching against a plain reference. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseFeed } from '../../src/policy/feed-parse.js';
import { detectFormat, parseAdblock, parseDomainList, parseHosts } from '../../src/policy/formats/list-formats.js';
import { parseRpzZone as parseRpzBytes } from '../../src/policy/formats/rpz-zone.js';
import { nameToWire } from '../../src/dns/name.js';
import { NAME_INVALID, NAME_WILDCARD, nameHash, scanName } from '../../src/policy/name-hash.js';
import { normalName, type RuleScope } from '../../src/policy/policy-rule.js';
import { NameProbe, RuleSet, type RuleSetData } from '../../src/policy/rule-set.js';
import { RuleTableBuilder } from '../../src/policy/rule-table-builder.js';

const RPZ = `$TTL 300
@ IN SOA localhost. admin.localhost. ( 2026112801 3600 600 86400 60 )
  IN NS localhost.
evil.example       CNAME .            ; NXDOMAIN
*.evil.example     CNAME .
nodata.example     CNAME *.
fine.evil.example  CNAME rpz-passthru.
drop.example       CNAME rpz-drop.
garden.example     A 192.0.2.80
garden.example     AAAA 2001:db8::80
garden.example     TXT "walled garden"
redirect.example   CNAME walled.garden.example.
32.1.2.0.192.rpz-ip CNAME .
ns.bad.rpz-nsdname CNAME .
tcp.example        CNAME rpz-tcp-only.
`;

const parseRpzZone = (text: string, zone?: string) => parseRpzBytes(Buffer.from(text), zone);
const rules = (text: string) => parseRpzZone(text, 'rpz.test');
const bytes = (text: string) => Buffer.from(text);

function matcher(table: RuleSetData) {
  const set = new RuleSet(table);
  const probe = new NameProbe();
  return (name: string) => {
    probe.setBytes(nameToWire(name), 0);
    return set.match(probe);
  };
}

describe('RPZ zone files', () => {
  it('reads QNAME triggers, their actions and local data, and counts what it skips', () => {
    const r = rules(RPZ);
    assert.equal(r.serial, 2026112801);
    assert.equal(r.errors, 0);
    assert.equal(r.table.count, 7, 'seven QNAME triggers, each one rule');
    const m = matcher(r.table);
    assert.deepEqual(
      [m('evil.example')?.action, m('evil.example')?.scope, m('evil.example')?.line],
      ['nxdomain', 'exact', 4],
    );
    assert.deepEqual(
      [m('x.evil.example')?.action, m('x.evil.example')?.scope, m('x.evil.example')?.line],
      ['nxdomain', 'wildcard', 5],
    );
    assert.equal(m('nodata.example')?.action, 'nodata');
    assert.equal(m('fine.evil.example')?.action, 'passthru');
    assert.equal(m('drop.example')?.action, 'drop');
    assert.deepEqual(
      m('garden.example')?.records?.map((x) => `${x.type} ${x.data}`),
      ['A 192.0.2.80', 'AAAA 2001:db8::80', 'TXT walled garden'],
    );
    assert.deepEqual(
      m('redirect.example')?.records?.map((x) => `${x.type} ${x.data}`),
      ['CNAME walled.garden.example'],
    );
    assert.equal(m('tcp.example'), undefined);
    assert.deepEqual(
      r.ipRules.map((x) => [x.family, x.bits, x.network, x.action]),
      [[4, 32, 'c0000201', 'nxdomain']],
    );
    assert.equal(r.skipped['rpz-nsdname trigger (a forwarder does not see delegations)'], 1);
    assert.equal(r.skipped['rpz-tcp-only action'], 1);
  });

  it('matches as RPZ does: exact names, wildcards only below, the exact rule before the wildcard', () => {
    const m = matcher(rules(RPZ).table);
    assert.equal(m('evil.example')?.action, 'nxdomain');
    assert.equal(m('a.b.evil.example')?.scope, 'wildcard');
    assert.equal(m('fine.evil.example')?.action, 'passthru', 'the exact rule wins over the wildcard');
    assert.equal(m('example'), undefined);
    assert.equal(m('notevil.example'), undefined);
    assert.equal(m('x.nodata.example'), undefined, 'no wildcard for nodata.example');
  });

  it('reads rpz-ip triggers for IPv4 and IPv6 (zz for ::) and matches the longest prefix', async () => {
    const { IpRuleSet } = await import('../../src/policy/ip-rule-set.js');
    const r = rules(
      '24.0.2.0.192.rpz-ip CNAME *.\n32.7.2.0.192.rpz-ip CNAME .\n48.zz.db8.2001.rpz-ip CNAME .\n33.1.2.3.4.rpz-ip CNAME .\n',
    );
    assert.equal(r.errors, 1, 'a /33 IPv4 prefix is an error');
    const set = new IpRuleSet(r.ipRules);
    assert.equal(set.match(Uint8Array.from([192, 0, 2, 7]))?.action, 'nxdomain');
    assert.equal(set.match(Uint8Array.from([192, 0, 2, 8]))?.action, 'nodata');
    assert.equal(set.match(Uint8Array.from([192, 0, 3, 8])), undefined);
    const v6 = new Uint8Array(16);
    v6.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x12, 0x34]);
    assert.equal(set.match(v6)?.trigger, '48.zz.db8.2001.rpz-ip');
  });

  it('says where a broken zone is broken', () => {
    const r = parseRpzZone('$ORIGIN rpz.test.\nbad..name CNAME .\nok.example CNAME .\nfoo CNAME bad..target.\n');
    assert.equal(r.table.count, 1);
    assert.equal(r.errors, 2);
    assert.match(r.errorExamples[0], /^line 2: owner name/);
  });
});

describe('blocklist formats', () => {
  it('hosts files block exact names and ignore localhost entries', () => {
    const r = parseHosts(
      bytes(
        '# comment\n127.0.0.1 localhost\n0.0.0.0 ads.example Tracker.Example # two\n::1 ip6-localhost\n0.0.0.0 bad..name\n',
      ),
    );
    assert.equal(r.table.count, 2);
    assert.equal(r.errors, 1);
    const m = matcher(r.table);
    assert.deepEqual([m('ads.example')?.scope, m('ads.example')?.line], ['exact', 3]);
    assert.equal(m('tracker.example')?.line, 3, 'names are folded to lower case');
    assert.equal(m('localhost'), undefined);
    assert.equal(m('x.ads.example'), undefined);
  });

  it('domain lists block a name and everything under it; *.name only what is under it (a byte-order mark, CRLF and comments are fine)', () => {
    const r = parseDomainList(
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        bytes('malware.example\r\n  *.phish.example  # comment\nbad*.example\n'),
      ]),
    );
    assert.equal(r.errors, 1);
    assert.match(r.errorExamples[0], /^line 3: "bad\*\.example"/);
    const m = matcher(r.table);
    assert.ok(m('malware.example'));
    assert.ok(m('a.malware.example'));
    assert.equal(m('phish.example'), undefined);
    assert.ok(m('login.phish.example'));
  });

  it('adblock rules: ||name^ blocks the subtree, @@ exceptions win, cosmetic and URL rules are skipped', () => {
    const r = parseAdblock(
      bytes(
        '! title\n[Adblock Plus 2.0]\n||ads.example^\n@@||ok.ads.example^\n||tracker.example^$important\n##.banner\n/banner/*\n||x.example^$third-party\nplain.example\n||pipe.example^|\n',
      ),
    );
    assert.equal(r.table.count, 5);
    assert.equal(r.skipped['cosmetic rule'], 1);
    assert.equal(r.skipped['URL or pattern rule (not a domain rule)'], 1);
    assert.equal(r.skipped['rule with options dnsward does not evaluate'], 1);
    const m = matcher(r.table);
    assert.equal(m('a.ads.example')?.exception, false);
    assert.equal(m('b.ok.ads.example')?.exception, true);
    assert.equal(m('tracker.example')?.line, 5);
    assert.equal(m('www.plain.example')?.line, 9);
    assert.equal(m('pipe.example')?.line, 10);
    assert.equal(m('x.example'), undefined);
  });

  it('detects the format of a feed', () => {
    assert.equal(detectFormat(bytes(RPZ)), 'rpz');
    assert.equal(detectFormat(bytes('0.0.0.0 a.example\n')), 'hosts');
    assert.equal(detectFormat(bytes('! list\n||a.example^\n')), 'adblock');
    assert.equal(detectFormat(bytes('a.example\nb.example\n')), 'domains');
  });

  it('refuses a feed that is mostly garbage', () => {
    const p = parseFeed('<html><body>503 Service Unavailable</body></html>\n<p>try later</p>\n', 'domains');
    assert.match(p.refused ?? '', /no usable rule/);
  });
});

describe('rule table', () => {
  const label = fc.stringMatching(/^[a-z0-9]{1,6}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));

  it('matches exactly like a plain reference matcher (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ name, scope: fc.constantFrom('exact' as const, 'subtree' as const, 'wildcard' as const) }),
          { maxLength: 40 },
        ),
        fc.array(name, { minLength: 1, maxLength: 20 }),
        (list, queries) => {
          type Rule = { name: string; scope: RuleScope; line: number };
          const rules: Rule[] = list.map((r, i) => ({ ...r, line: i + 1 }));
          const b = new RuleTableBuilder();
          for (const r of rules) b.addName(r.name, r.scope, 'block', r.line);
          const m = matcher(b.build());
          // Reference: first rule (in feed order) per (name, scope); the name itself, then parents from the longest.
          const first = new Map<string, Rule>();
          for (const r of rules) if (!first.has(`${r.scope}|${r.name}`)) first.set(`${r.scope}|${r.name}`, r);
          for (const q of queries) {
            const labels = q.split('.');
            let expected: Rule | undefined;
            for (let i = 0; i < labels.length && expected === undefined; i++) {
              const suffix = labels.slice(i).join('.');
              expected =
                i === 0
                  ? (first.get(`exact|${suffix}`) ?? first.get(`subtree|${suffix}`))
                  : (first.get(`subtree|${suffix}`) ?? first.get(`wildcard|${suffix}`));
            }
            assert.equal(m(q)?.line, expected?.line, `${q} against ${JSON.stringify(rules)}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("names read from a feed's bytes", () => {
  const text = fc.stringMatching(/^[*a-zA-Z0-9_.-]{0,40}$/);
  it('are checked and hashed exactly as the text path checks and hashes them (property)', () => {
    fc.assert(
      fc.property(text, (t) => {
        const out = new Int32Array(2);
        const flags = scanName(Buffer.from(t), 0, t.length, out);
        const normal = normalName(t);
        const wildcard = normal?.startsWith('*.') === true;
        const valid = normal !== undefined && !normal.slice(wildcard ? 2 : 0).includes('*');
        assert.equal(flags !== NAME_INVALID, valid, t);
        if (!valid) return;
        assert.equal(flags === NAME_WILDCARD, wildcard, t);
        const expected = new Int32Array(2);
        nameHash(normal!.slice(wildcard ? 2 : 0), expected);
        assert.deepEqual([...out], [...expected], t);
      }),
      { numRuns: 2000 },
    );
  });

  it('the same rules written with relative or absolute owners, $ORIGIN and parentheses match the same', () => {
    const relative = 'a.example CNAME .\n*.b.example 60 IN CNAME *.\nc.example CNAME rpz-passthru.\n';
    const absolute =
      '$ORIGIN example.rpz.test.\na CNAME .\n*.b.example.rpz.test. 60 IN ( CNAME\n *. ) ; comment\n$ORIGIN rpz.test.\nc.example.rpz.test. CNAME rpz-passthru.\n';
    const x = matcher(rules(relative).table);
    const y = matcher(rules(absolute).table);
    const seen = (m: ReturnType<typeof x>) => (m === undefined ? 'none' : `${m.action} ${m.scope}`);
    for (const name of ['a.example', 'x.a.example', 'b.example', 'x.b.example', 'c.example', 'd.example'])
      assert.equal(seen(y(name)), seen(x(name)), name);
    assert.equal(seen(x('x.b.example')), 'nodata wildcard');
    assert.equal(seen(x('c.example')), 'passthru exact');
  });
});
