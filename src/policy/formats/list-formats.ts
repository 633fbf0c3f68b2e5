/**
 * Blocklists as ad-blockers write them: hosts files (`0.0.0.0 name`, exact names), plain domain
 * lists (one name per line: the name and everything under it; `*.name`: only under it), and
 * adblock-style filters (`||name^` blocks the name and everything under it, `@@||name^` is an
 * exception that wins over blocks). Cosmetic and URL rules of adblock lists do not apply to DNS
 * and are counted as skipped; so are rule options dnsward does not evaluate.
 */
import { NAME_WILDCARD, scanName } from '../name-hash.js';
import { normalName, ParseCollector, type ParseResult } from '../policy-rule.js';
import { isBlank, LineCursor } from './feed-lines.js';

const HOSTS_IGNORED = new Set([
  'localhost',
  'localhost.localdomain',
  'local',
  'broadcasthost',
  'ip6-localhost',
  'ip6-loopback',
  'ip6-localnet',
  'ip6-mcastprefix',
  'ip6-allnodes',
  'ip6-allrouters',
  'ip6-allhosts',
  '0.0.0.0',
]);
// Indexes in rule-set.ts' SCOPES and ACTIONS.
const EXACT = 0;
const SUBTREE = 1;
const WILDCARD = 2;
const BLOCK = 0;
const PASSTHRU = 3;

/** Only short names starting with these letters can be in HOSTS_IGNORED: the rest make no string. */
function ignoredHostName(buf: Buffer, start: number, end: number): boolean {
  const first = buf[start] | 0x20;
  if (end - start > 21 || (first !== 0x6c && first !== 0x62 && first !== 0x69 && buf[start] !== 0x30)) return false;
  return HOSTS_IGNORED.has(buf.toString('latin1', start, end).toLowerCase());
}

function isAddress(buf: Buffer, start: number, end: number): boolean {
  if (start === end) return false;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    const l = c | 0x20;
    if (!((c >= 0x30 && c <= 0x3a) || c === 0x2e || (l >= 0x61 && l <= 0x66))) return false;
  }
  return true;
}

export function parseHosts(buf: Buffer): ParseResult {
  const out = new ParseCollector();
  const c = new LineCursor(buf);
  const hash = new Int32Array(2);
  while (c.next()) {
    c.cutAt(0x23);
    if (c.empty) continue;
    let i = c.start;
    while (i < c.end && !isBlank(buf[i])) i++;
    if (!isAddress(buf, c.start, i)) {
      out.error(c.line, `"${c.text(c.start, i)}" is not an address`);
      continue;
    }
    for (;;) {
      while (i < c.end && isBlank(buf[i])) i++;
      const s = i;
      while (i < c.end && !isBlank(buf[i])) i++;
      if (s === i) break;
      if (ignoredHostName(buf, s, i)) continue;
      if (scanName(buf, s, i, hash) !== 0) out.error(c.line, `"${c.text(s, i)}" is not a host name`);
      else out.rules.add(hash[0], hash[1], EXACT, BLOCK, false, c.line);
    }
  }
  return out.result();
}

export function parseDomainList(buf: Buffer): ParseResult {
  const out = new ParseCollector();
  const c = new LineCursor(buf);
  const hash = new Int32Array(2);
  while (c.next()) {
    c.cutAt(0x23);
    if (c.empty) continue;
    const flags = scanName(buf, c.start, c.end, hash);
    if (flags < 0) out.error(c.line, `"${c.text()}" is not a domain name ("*" only as the whole first label)`);
    else out.rules.add(hash[0], hash[1], flags === NAME_WILDCARD ? WILDCARD : SUBTREE, BLOCK, false, c.line);
  }
  return out.result();
}

/** `||name^` (`@@||name^`) with nothing else on the line: nearly every line of a DNS adblock list. */
function plainAdblockRule(c: LineCursor, out: ParseCollector, hash: Int32Array): boolean {
  const buf = c.buf;
  const exception = c.startsWith('@@||');
  if (!exception && !c.startsWith('||')) return false;
  const s = c.start + (exception ? 4 : 2);
  let e = s;
  while (e < c.end && buf[e] !== 0x5e && buf[e] !== 0x24 && buf[e] !== 0x7c && buf[e] !== 0x2f && buf[e] !== 0x2a) e++;
  const rest = c.end - e;
  if (!(rest === 0 || (buf[e] === 0x5e && (rest === 1 || (rest === 2 && buf[e + 1] === 0x7c))))) return false;
  if (scanName(buf, s, e, hash) !== 0) out.error(c.line, `"${c.text(s, e)}" is not a domain name`);
  else out.rules.add(hash[0], hash[1], SUBTREE, exception ? PASSTHRU : BLOCK, exception, c.line);
  return true;
}

export function parseAdblock(buf: Buffer): ParseResult {
  const out = new ParseCollector();
  const c = new LineCursor(buf);
  const hash = new Int32Array(2);
  while (c.next()) {
    if (c.empty || plainAdblockRule(c, out, hash)) continue;
    const line = c.text();
    const n = c.line;
    if (line.startsWith('!') || line.startsWith('[')) continue;
    if (line.includes('##') || line.includes('#@#') || line.includes('#?#') || line.includes('#$#')) {
      out.skip('cosmetic rule');
      continue;
    }
    let rule = line;
    const exception = rule.startsWith('@@');
    if (exception) rule = rule.slice(2);
    const dollar = rule.indexOf('$');
    if (dollar >= 0) {
      const options = rule
        .slice(dollar + 1)
        .split(',')
        .filter((o) => o !== '' && o !== 'important');
      if (options.length > 0) {
        out.skip('rule with options dnsward does not evaluate');
        continue;
      }
      rule = rule.slice(0, dollar);
    }
    const m = /^\|\|([^/^|*]+)\^?\|?$/.exec(rule);
    // A bare host name line is accepted as a block of that name and everything under it.
    const bare = m === null && /^[a-z0-9.-]+$/i.test(rule) ? normalName(rule) : undefined;
    if (m === null && (bare === undefined || !bare.includes('.'))) {
      out.skip('URL or pattern rule (not a domain rule)');
      continue;
    }
    const normal = bare ?? normalName(m![1]);
    if (normal === undefined || normal.includes('*')) {
      out.error(n, `"${m![1]}" is not a domain name`);
      continue;
    }
    out.rules.addName(normal, 'subtree', exception ? 'passthru' : 'block', n, undefined, exception);
  }
  return out.result();
}

/** Guesses a feed's format from its first meaningful lines. */
export function detectFormat(buf: Buffer): 'rpz' | 'hosts' | 'adblock' | 'domains' {
  const sample = buf
    .toString('utf8', 0, Math.min(buf.length, 65_536))
    .split(/\r?\n/, 200)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
  if (sample.some((l) => /^\$ORIGIN|\sSOA\s|\bIN\s+(SOA|CNAME)\b/i.test(l) || /\sCNAME\s+(\.|\*\.|rpz-)/i.test(l)))
    return 'rpz';
  if (sample.some((l) => l.startsWith('||') || l.startsWith('@@') || l.startsWith('!') || l.startsWith('[Adblock')))
    return 'adblock';
  if (sample.some((l) => /^(0\.0\.0\.0|127\.0\.0\.1|::1?|::)\s+\S/.test(l))) return 'hosts';
  return 'domains';
}
