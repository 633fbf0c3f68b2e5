/**
 * Response Policy Zone files (draft-vixie-dnsop-dns-rpz): a zone in master-file syntax whose
 * owner names, relative to the policy zone, are triggers and whose records are actions.
 * QNAME triggers (`name`, `*.name`) with NXDOMAIN (`CNAME .`), NODATA (`CNAME *.`), PASSTHRU
 * (`CNAME rpz-passthru.`), DROP (`CNAME rpz-drop.`) and local data (A, AAAA, TXT, or a CNAME to
 * another name) are applied. Triggers a forwarder cannot evaluate or that dnsward does not
 * evaluate yet are counted as skipped, by kind: rpz-nsdname and rpz-nsip (a forwarder never
 * sees the delegation), rpz-client-ip (not yet), rpz-tcp-only. Response-IP triggers (rpz-ip)
 * become address rules, applied to the answers' A and AAAA records.
 */
import { maskedHex, parseIpTrigger } from '../ip-rule-set.js';
import { type LocalRecord, normalName, ParseCollector, type ParseResult, type RuleAction } from '../policy-rule.js';

const SPECIAL_SUFFIXES: Array<[string, string]> = [
  ['.rpz-nsdname', 'rpz-nsdname trigger (a forwarder does not see delegations)'],
  ['.rpz-nsip', 'rpz-nsip trigger (a forwarder does not see delegations)'],
  ['.rpz-client-ip', 'rpz-client-ip trigger (not evaluated yet)'],
];

/** Splits master-file text into records' fields, joining parenthesised lines and dropping comments. */
function* records(text: string): Generator<{ line: number; fields: string[]; ownerBlank: boolean }> {
  const lines = text.split(/\r?\n/);
  let pending: string[] = [];
  let startLine = 0;
  let ownerBlank = false;
  let depth = 0;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    // Comments start at a ';' outside quotes.
    let inQuote = false;
    for (let j = 0; j < line.length; j++) {
      const c = line[j];
      if (c === '"') inQuote = !inQuote;
      else if (c === ';' && !inQuote) {
        line = line.slice(0, j);
        break;
      }
    }
    if (depth === 0) {
      if (line.trim() === '') continue;
      startLine = i + 1;
      ownerBlank = /^\s/.test(line);
      pending = [];
    }
    for (const token of line.match(/"(?:[^"\\]|\\.)*"|\(|\)|[^\s()]+/g) ?? []) {
      if (token === '(') depth++;
      else if (token === ')') depth = Math.max(0, depth - 1);
      else pending.push(token);
    }
    if (depth === 0 && pending.length > 0) yield { line: startLine, fields: pending, ownerBlank };
  }
}

const TYPES = new Set(['SOA', 'NS', 'CNAME', 'A', 'AAAA', 'TXT', 'MX', 'SRV', 'PTR', 'DNAME', 'HINFO', 'CAA']);

export function parseRpzZone(text: string, zoneName?: string): ParseResult {
  const out = new ParseCollector();
  let origin = zoneName === undefined ? undefined : normalName(zoneName);
  let defaultTtl = 3600;
  let lastOwner: string | undefined;
  // Local data for one owner may span several records; they are gathered, then made one rule.
  const local = new Map<string, { line: number; records: LocalRecord[]; wildcard: boolean }>();
  const absolute = (name: string): string | undefined => {
    if (name === '@') return origin;
    if (name.endsWith('.')) return normalName(name);
    return origin === undefined ? undefined : normalName(`${name}.${origin}`);
  };

  for (const { line, fields, ownerBlank } of records(text)) {
    if (fields[0] === '$ORIGIN') {
      origin = normalName(fields[1] ?? '');
      continue;
    }
    if (fields[0] === '$TTL') {
      defaultTtl = Number(fields[1]) || defaultTtl;
      continue;
    }
    if (fields[0].startsWith('$')) {
      out.skip(`${fields[0]} directive`);
      continue;
    }
    let i = 0;
    let owner: string | undefined;
    if (ownerBlank) owner = lastOwner;
    else owner = absolute(fields[i++]);
    if (owner === undefined) {
      out.error(line, `owner name "${fields[0]}" is not a name (or no $ORIGIN is known for a relative one)`);
      continue;
    }
    lastOwner = owner;
    let ttl = defaultTtl;
    while (i < fields.length && !TYPES.has(fields[i].toUpperCase())) {
      if (/^\d+$/.test(fields[i])) ttl = Number(fields[i]);
      i++;
    }
    const type = fields[i]?.toUpperCase();
    const rdata = fields.slice(i + 1);
    if (type === undefined) {
      out.error(line, 'no record type');
      continue;
    }
    if (type === 'SOA') {
      origin ??= owner;
      const serial = Number(rdata[2]);
      if (Number.isFinite(serial)) out.serial = serial;
      continue;
    }
    if (origin === undefined) {
      out.error(line, 'a record before the zone name is known ($ORIGIN or SOA)');
      continue;
    }
    if (owner === origin) {
      if (type !== 'NS') out.skip(`${type} at the zone apex`);
      continue;
    }
    if (!owner.endsWith(`.${origin}`)) {
      out.error(line, `${owner} is outside the policy zone ${origin}`);
      continue;
    }
    let trigger = owner.slice(0, -(origin.length + 1));
    const special = SPECIAL_SUFFIXES.find(([suffix]) => trigger.endsWith(suffix));
    if (special) {
      out.skip(special[1]);
      continue;
    }
    if (trigger.endsWith('.rpz-ip')) {
      const ip = parseIpTrigger(trigger.slice(0, -'.rpz-ip'.length));
      if (ip === undefined) {
        out.error(line, `"${trigger}" is not an rpz-ip trigger (prefix length, then the address reversed)`);
        continue;
      }
      const target = (rdata[0] ?? '').toLowerCase();
      const action = type !== 'CNAME' ? undefined : target === '.' ? 'nxdomain' : target === '*.' ? 'nodata' : target === 'rpz-passthru.' ? 'passthru' : target === 'rpz-drop.' ? 'drop' : undefined;
      if (action === undefined) {
        out.skip('rpz-ip trigger with local data (not served yet)');
        continue;
      }
      out.ipRules.push({ family: ip.family, bits: ip.bits, network: maskedHex(ip.bytes, ip.bits), action, line, trigger: `${trigger}` });
      continue;
    }
    const wildcard = trigger.startsWith('*.');
    if (wildcard) trigger = trigger.slice(2);
    if (type === 'CNAME') {
      const target = (rdata[0] ?? '').toLowerCase();
      const action: RuleAction | 'tcp-only' | undefined =
        target === '.' ? 'nxdomain' : target === '*.' ? 'nodata' : target === 'rpz-passthru.' ? 'passthru' : target === 'rpz-drop.' ? 'drop' : target === 'rpz-tcp-only.' ? 'tcp-only' : undefined;
      if (action === 'tcp-only') {
        out.skip('rpz-tcp-only action');
        continue;
      }
      if (action !== undefined) {
        out.rules.push({ name: trigger, scope: wildcard ? 'wildcard' : 'exact', action, line });
        continue;
      }
      const to = normalName(target);
      if (to === undefined) {
        out.error(line, `CNAME target "${rdata[0]}" is not a name`);
        continue;
      }
      addLocal(local, `${wildcard ? '*.' : ''}${trigger}`, line, { type: 'CNAME', ttl, data: to });
      continue;
    }
    if (type === 'A' || type === 'AAAA' || type === 'TXT') {
      const data = type === 'TXT' ? rdata.map((t) => t.replace(/^"|"$/g, '')).join('') : rdata[0] ?? '';
      addLocal(local, `${wildcard ? '*.' : ''}${trigger}`, line, { type, ttl, data });
      continue;
    }
    out.skip(`${type} local data (not served yet)`);
  }
  for (const [name, l] of local) {
    const wildcard = name.startsWith('*.');
    out.rules.push({ name: wildcard ? name.slice(2) : name, scope: wildcard ? 'wildcard' : 'exact', action: 'local-data', line: l.line, records: l.records });
  }
  return out.result();
}

function addLocal(local: Map<string, { line: number; records: LocalRecord[]; wildcard: boolean }>, key: string, line: number, record: LocalRecord): void {
  const entry = local.get(key) ?? { line, records: [], wildcard: key.startsWith('*.') };
  entry.records.push(record);
  local.set(key, entry);
}
