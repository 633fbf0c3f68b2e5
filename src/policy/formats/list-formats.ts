/**
 * Blocklists as ad-blockers write them: hosts files (`0.0.0.0 name`, exact names), plain domain
 * lists (one name per line: the name and everything under it; `*.name`: only under it), and
 * adblock-style filters (`||name^` blocks the name and everything under it, `@@||name^` is an
 * exception that wins over blocks). Cosmetic and URL rules of adblock lists do not apply to DNS
 * and are counted as skipped; so are rule options dnsward does not evaluate.
 */
import { normalName, ParseCollector, type ParseResult } from '../policy-rule.js';

const HOSTS_IGNORED = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback', 'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0']);

function lines(text: string, each: (line: string, n: number) => void): void {
  const all = text.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    const line = all[i].trim();
    if (line !== '') each(line, i + 1);
  }
}

export function parseHosts(text: string): ParseResult {
  const out = new ParseCollector();
  lines(text, (raw, n) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [address, ...names] = line.split(/\s+/);
    if (!/^[0-9a-f.:]+$/i.test(address)) return out.error(n, `"${address}" is not an address`);
    for (const name of names) {
      if (HOSTS_IGNORED.has(name.toLowerCase())) continue;
      const normal = normalName(name);
      if (normal === undefined || normal.includes('*')) out.error(n, `"${name}" is not a host name`);
      else out.rules.push({ name: normal, scope: 'exact', action: 'block', line: n });
    }
  });
  return out.result();
}

export function parseDomainList(text: string): ParseResult {
  const out = new ParseCollector();
  lines(text, (raw, n) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const normal = normalName(line);
    if (normal === undefined) return out.error(n, `"${line}" is not a domain name`);
    if (normal.startsWith('*.')) out.rules.push({ name: normal.slice(2), scope: 'wildcard', action: 'block', line: n });
    else if (normal.includes('*')) out.error(n, `"${line}": "*" only as the first label`);
    else out.rules.push({ name: normal, scope: 'subtree', action: 'block', line: n });
  });
  return out.result();
}

export function parseAdblock(text: string): ParseResult {
  const out = new ParseCollector();
  lines(text, (line, n) => {
    if (line.startsWith('!') || line.startsWith('[')) return;
    if (line.includes('##') || line.includes('#@#') || line.includes('#?#') || line.includes('#$#')) return out.skip('cosmetic rule');
    let rule = line;
    const exception = rule.startsWith('@@');
    if (exception) rule = rule.slice(2);
    const dollar = rule.indexOf('$');
    if (dollar >= 0) {
      const options = rule.slice(dollar + 1).split(',').filter((o) => o !== '' && o !== 'important');
      if (options.length > 0) return out.skip('rule with options dnsward does not evaluate');
      rule = rule.slice(0, dollar);
    }
    const m = /^\|\|([^/^|*]+)\^?\|?$/.exec(rule);
    if (m === null) {
      // A bare host name line is accepted as a block of that name and everything under it.
      const bare = /^[a-z0-9.-]+$/i.test(rule) ? normalName(rule) : undefined;
      if (bare !== undefined && bare.includes('.')) {
        out.rules.push({ name: bare, scope: 'subtree', action: exception ? 'passthru' : 'block', exception, line: n });
        return;
      }
      return out.skip('URL or pattern rule (not a domain rule)');
    }
    const normal = normalName(m[1]);
    if (normal === undefined || normal.includes('*')) return out.error(n, `"${m[1]}" is not a domain name`);
    out.rules.push({ name: normal, scope: 'subtree', action: exception ? 'passthru' : 'block', exception, line: n });
  });
  return out.result();
}

/** Guesses a feed's format from its first meaningful lines. */
export function detectFormat(text: string): 'rpz' | 'hosts' | 'adblock' | 'domains' {
  const sample = text.split(/\r?\n/, 200).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
  if (sample.some((l) => /^\$ORIGIN|\sSOA\s|\bIN\s+(SOA|CNAME)\b/i.test(l) || /\sCNAME\s+(\.|\*\.|rpz-)/i.test(l))) return 'rpz';
  if (sample.some((l) => l.startsWith('||') || l.startsWith('@@') || l.startsWith('!') || l.startsWith('[Adblock'))) return 'adblock';
  if (sample.some((l) => /^(0\.0\.0\.0|127\.0\.0\.1|::1?|::)\s+\S/.test(l))) return 'hosts';
  return 'domains';
}
