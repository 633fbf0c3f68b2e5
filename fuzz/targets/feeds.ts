/**
 * The policy feed parsers, one target per format (each through parseFeed, as the feed worker
 * calls them): never throw on any bytes, and never more rules than the text can hold.
 */
import fc from 'fast-check';
import { type FeedFormat, parseFeed } from '../../src/policy/feed-parse.js';
import { expect, type FuzzTarget } from './target.js';

function lineCount(buf: Buffer): number {
  let n = 1;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Whitespace-separated words: a hosts line holds one address and any number of names. */
function wordCount(buf: Buffer): number {
  let n = 0;
  let inWord = false;
  for (const c of buf) {
    const blank = c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
    if (!blank && !inWord) n++;
    inWord = !blank;
  }
  return n;
}

const names = fc.domain();
const LINES: Record<Exclude<FeedFormat, 'auto'>, fc.Arbitrary<string>> = {
  rpz: fc.oneof(
    fc.constantFrom(
      '$TTL 300',
      '$ORIGIN rpz.example.',
      '@ SOA ns.example. hostmaster.example. ( 1 3600 600 86400 60 )',
      '@ NS ns.example.',
      ';',
      '(',
    ),
    fc
      .tuple(
        names,
        fc.constantFrom(
          'CNAME .',
          'CNAME *.',
          'CNAME rpz-passthru.',
          'CNAME rpz-drop.',
          'A 192.0.2.1',
          'AAAA 2001:db8::1',
          'TXT "x"',
          'CNAME other.example.',
        ),
      )
      .map(([n, r]) => `${n} ${r}`),
    fc
      .tuple(fc.integer({ min: 0, max: 128 }), fc.ipV4(), fc.constantFrom('rpz-ip', 'rpz-client-ip', 'rpz-nsip'))
      .map(([p, a, k]) => `${p}.${a.split('.').reverse().join('.')}.${k} CNAME .`),
    fc.string(),
  ),
  hosts: fc.oneof(
    fc
      .tuple(fc.constantFrom('0.0.0.0', '127.0.0.1', '::', '::1'), fc.array(names, { maxLength: 3 }))
      .map(([a, ns]) => [a, ...ns].join(' ')),
    fc.constant('# comment'),
    fc.string(),
  ),
  domains: fc.oneof(
    names,
    names.map((n) => `*.${n}`),
    fc.constant('# comment'),
    fc.string(),
  ),
  adblock: fc.oneof(
    names.map((n) => `||${n}^`),
    names.map((n) => `@@||${n}^`),
    names.map((n) => `||${n}^$important`),
    names.map((n) => `||${n}^$third-party`),
    fc.constantFrom('! comment', '[Adblock Plus 2.0]', 'example.com##.ad'),
    fc.string(),
  ),
};

function feedTarget(format: Exclude<FeedFormat, 'auto'>): FuzzTarget {
  return {
    name: `feed-${format}`,
    maxLength: 8192,
    arbitrary: fc.oneof(
      fc.array(LINES[format], { maxLength: 30 }).map((ls) => new Uint8Array(Buffer.from(ls.join('\n')))),
      fc.uint8Array({ maxLength: 512 }),
    ),
    check(buf) {
      for (const f of [format, 'auto'] as const) {
        const p = parseFeed(buf, f);
        const bound = p.format === 'hosts' ? wordCount(buf) : lineCount(buf);
        expect(
          Number.isInteger(p.rules) && p.rules >= 0 && p.rules <= bound,
          `${p.format}: ${p.rules} rules from ${bound} ${p.format === 'hosts' ? 'words' : 'lines'}`,
        );
        expect(
          p.errors >= 0 && p.errors <= bound,
          `${p.errors} errors from ${bound} ${p.format === 'hosts' ? 'words' : 'lines'}`,
        );
        expect(p.refused === undefined || typeof p.refused === 'string', 'refused is not a string');
      }
    },
  };
}

export const feedRpz = feedTarget('rpz');
export const feedHosts = feedTarget('hosts');
export const feedDomains = feedTarget('domains');
export const feedAdblock = feedTarget('adblock');
