/** Feed formats and the hashed rule table: what each format means, and matching against a plain reference. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseFeedText } from '../../src/policy/feed-parse.js';
import { detectFormat, parseAdblock, parseDomainList, parseHosts } from '../../src/policy/formats/list-formats.js';
import { parseRpzZone } from '../../src/policy/formats/rpz-zone.js';
import { nameToWire } from '../../src/dns/name.js';
import type { ParsedRule } from '../../src/policy/policy-rule.js';
import { buildRuleSet, NameProbe, RuleSet } from '../../src/policy/rule-set.js';

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

const rules = (text: string) => parseRpzZone(text, 'rpz.test');

function matcher(list: ParsedRule[]) {
  const set = new RuleSet(buildRuleSet(list));
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
    const byName = Object.fromEntries(r.rules.map((x) => [`${x.scope === 'wildcard' ? '*.' : ''}${x.name}`, x]));
    assert.equal(byName['evil.example'].action, 'nxdomain');
    assert.equal(byName['*.evil.example'].action, 'nxdomain');
    assert.equal(byName['nodata.example'].action, 'nodata');
    assert.equal(byName['fine.evil.example'].action, 'passthru');
    assert.equal(byName['drop.example'].action, 'drop');
    assert.deepEqual(byName['garden.example'].records?.map((x) => `${x.type} ${x.data}`), ['A 192.0.2.80', 'AAAA 2001:db8::80', 'TXT walled garden']);
    assert.deepEqual(byName['redirect.example'].records?.map((x) => `${x.type} ${x.data}`), ['CNAME walled.garden.example']);
    assert.deepEqual(r.ipRules.map((x) => [x.family, x.bits, x.network, x.action]), [[4, 32, 'c0000201', 'nxdomain']]);
    assert.equal(r.skipped['rpz-nsdname trigger (a forwarder does not see delegations)'], 1);
    assert.equal(r.skipped['rpz-tcp-only action'], 1);
  });

  it('matches as RPZ does: exact names, wildcards only below, the exact rule before the wildcard', () => {
    const m = matcher(rules(RPZ).rules);
    assert.equal(m('evil.example')?.action, 'nxdomain');
    assert.equal(m('a.b.evil.example')?.scope, 'wildcard');
    assert.equal(m('fine.evil.example')?.action, 'passthru', 'the exact rule wins over the wildcard');
    assert.equal(m('example'), undefined);
    assert.equal(m('notevil.example'), undefined);
    assert.equal(m('x.nodata.example'), undefined, 'no wildcard for nodata.example');
  });

  it('reads rpz-ip triggers for IPv4 and IPv6 (zz for ::) and matches the longest prefix', async () => {
    const { IpRuleSet } = await import('../../src/policy/ip-rule-set.js');
    const r = rules('24.0.2.0.192.rpz-ip CNAME *.\n32.7.2.0.192.rpz-ip CNAME .\n48.zz.db8.2001.rpz-ip CNAME .\n33.1.2.3.4.rpz-ip CNAME .\n');
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
    assert.equal(r.rules.length, 1);
    assert.equal(r.errors, 2);
    assert.match(r.errorExamples[0], /^line 2: owner name/);
  });
});

describe('blocklist formats', () => {
  it('hosts files block exact names and ignore localhost entries', () => {
    const r = parseHosts('# comment\n127.0.0.1 localhost\n0.0.0.0 ads.example tracker.example # two\n::1 ip6-localhost\n0.0.0.0 bad..name\n');
    assert.deepEqual(r.rules.map((x) => [x.name, x.scope, x.line]), [['ads.example', 'exact', 3], ['tracker.example', 'exact', 3]]);
    assert.equal(r.errors, 1);
    const m = matcher(r.rules);
    assert.ok(m('ads.example'));
    assert.equal(m('x.ads.example'), undefined);
  });

  it('domain lists block a name and everything under it; *.name only what is under it', () => {
    const r = parseDomainList('malware.example\n*.phish.example\n');
    const m = matcher(r.rules);
    assert.ok(m('malware.example'));
    assert.ok(m('a.malware.example'));
    assert.equal(m('phish.example'), undefined);
    assert.ok(m('login.phish.example'));
  });

  it('adblock rules: ||name^ blocks the subtree, @@ exceptions win, cosmetic and URL rules are skipped', () => {
    const r = parseAdblock('! title\n[Adblock Plus 2.0]\n||ads.example^\n@@||ok.ads.example^\n||tracker.example^$important\n##.banner\n/banner/*\n||x.example^$third-party\nplain.example\n');
    assert.deepEqual(r.rules.map((x) => [x.name, x.exception ?? false]), [['ads.example', false], ['ok.ads.example', true], ['tracker.example', false], ['plain.example', false]]);
    assert.equal(r.skipped['cosmetic rule'], 1);
    assert.equal(r.skipped['URL or pattern rule (not a domain rule)'], 1);
    assert.equal(r.skipped['rule with options dnsward does not evaluate'], 1);
    const m = matcher(r.rules);
    assert.equal(m('a.ads.example')?.exception, false);
    assert.equal(m('b.ok.ads.example')?.exception, true);
  });

  it('detects the format of a feed', () => {
    assert.equal(detectFormat(RPZ), 'rpz');
    assert.equal(detectFormat('0.0.0.0 a.example\n'), 'hosts');
    assert.equal(detectFormat('! list\n||a.example^\n'), 'adblock');
    assert.equal(detectFormat('a.example\nb.example\n'), 'domains');
  });

  it('refuses a feed that is mostly garbage', () => {
    const p = parseFeedText('<html><body>503 Service Unavailable</body></html>\n<p>try later</p>\n', 'domains');
    assert.match(p.refused ?? '', /no usable rule/);
  });
});

describe('rule table', () => {
  const label = fc.stringMatching(/^[a-z0-9]{1,6}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));

  it('matches exactly like a plain reference matcher (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ name, scope: fc.constantFrom('exact' as const, 'subtree' as const, 'wildcard' as const) }), { maxLength: 40 }),
      fc.array(name, { minLength: 1, maxLength: 20 }),
      (list, queries) => {
        const rules: ParsedRule[] = list.map((r, i) => ({ ...r, action: 'block', line: i + 1 }));
        const m = matcher(rules);
        // Reference: first rule (in feed order) per (name, scope); the name itself, then parents from the longest.
        const first = new Map<string, ParsedRule>();
        for (const r of rules) if (!first.has(`${r.scope}|${r.name}`)) first.set(`${r.scope}|${r.name}`, r);
        for (const q of queries) {
          const labels = q.split('.');
          let expected: ParsedRule | undefined;
          for (let i = 0; i < labels.length && expected === undefined; i++) {
            const suffix = labels.slice(i).join('.');
            expected = i === 0 ? first.get(`exact|${suffix}`) ?? first.get(`subtree|${suffix}`) : first.get(`subtree|${suffix}`) ?? first.get(`wildcard|${suffix}`);
          }
          assert.equal(m(q)?.line, expected?.line, `${q} against ${JSON.stringify(rules)}`);
        }
      },
    ), { numRuns: 300 });
  });
});
