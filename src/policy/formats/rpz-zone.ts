/**
 * Response Policy Zone files (draft-vixie-dnsop-dns-rpz): a zone in master-file syntax whose
 * owner names, relative to the policy zone, are triggers and whose records are actions.
 * QNAME triggers (`name`, `*.name`) with NXDOMAIN (`CNAME .`), NODATA (`CNAME *.`), PASSTHRU
 * (`CNAME rpz-passthru.`), DROP (`CNAME rpz-drop.`) and local data (A, AAAA, TXT, or a CNAME to
 * another name) are applied. Triggers a forwarder cannot evaluate or that dnsward does not
 * evaluate yet are counted as skipped, by kind: rpz-nsdname and rpz-nsip (a forwarder never
 * sees the delegation), rpz-tcp-only. Response-IP triggers (rpz-ip) become address rules,
 * applied to the answers' A and AAAA records; client-IP triggers (rpz-client-ip) become rules
 * on the query's source address.
 */
import { type IpRule, maskedHex, parseIpTrigger } from '../ip-rule-set.js';
import { NAME_WILDCARD, scanName } from '../name-hash.js';
import { type LocalRecord, normalName, ParseCollector, type ParseResult } from '../policy-rule.js';
import { ACTIONS } from '../rule-set.js';
import { isBlank, textStart } from './feed-lines.js';

const SPECIAL_SUFFIXES: Array<[string, string]> = [
  ['.rpz-nsdname', 'rpz-nsdname trigger (a forwarder does not see delegations)'],
  ['.rpz-nsip', 'rpz-nsip trigger (a forwarder does not see delegations)'],
];
const TYPES = ['SOA', 'NS', 'CNAME', 'A', 'AAAA', 'TXT', 'MX', 'SRV', 'PTR', 'DNAME', 'HINFO', 'CAA'];
const [SOA, NS, CNAME, A, AAAA, TXT] = [0, 1, 2, 3, 4, 5];
/** The CNAME targets that are actions, upper case, and their indexes in rule-set.ts' ACTIONS. */
const TCP_ONLY = -1;
const NO_ACTION = -2;
const TARGETS: Array<[string, number]> = [
  ['.', 1],
  ['*.', 2],
  ['RPZ-PASSTHRU.', 3],
  ['RPZ-DROP.', 4],
  ['RPZ-TCP-ONLY.', TCP_ONLY],
];
const MAX_FIELDS = 256;

/**
 * Master-file records as offsets of their fields in the zone's bytes: parenthesised lines
 * joined, comments dropped, quoted strings kept whole. No string is made for a field unless a
 * slow path (a directive, local data, a message) asks for its text.
 */
class RecordCursor {
  readonly starts = new Int32Array(MAX_FIELDS);
  readonly ends = new Int32Array(MAX_FIELDS);
  count = 0;
  /** The line the record starts on, and whether that line starts with a blank (same owner as before). */
  line = 0;
  ownerBlank = false;
  private pos: number;
  private lineNo = 0;

  constructor(readonly buf: Buffer) {
    this.pos = textStart(buf);
  }

  next(): boolean {
    const buf = this.buf;
    const n = buf.length;
    let depth = 0;
    this.count = 0;
    while (this.pos < n) {
      let i = this.pos;
      this.lineNo++;
      if (depth === 0) {
        this.line = this.lineNo;
        this.ownerBlank = isBlank(buf[i]);
      }
      for (;;) {
        while (i < n && isBlank(buf[i])) i++;
        if (i >= n || buf[i] === 0x0a) {
          i++;
          break;
        }
        const c = buf[i];
        if (c === 0x3b) {
          const nl = buf.indexOf(0x0a, i);
          i = nl < 0 ? n : nl;
          continue;
        }
        if (c === 0x28 || c === 0x29) {
          depth = c === 0x28 ? depth + 1 : Math.max(0, depth - 1);
          i++;
          continue;
        }
        const s = i;
        if (c === 0x22) {
          for (i++; i < n && buf[i] !== 0x22 && buf[i] !== 0x0a; i++) if (buf[i] === 0x5c) i++;
          if (i < n && buf[i] === 0x22) i++;
        } else {
          while (i < n && !isBlank(buf[i]) && buf[i] !== 0x0a && buf[i] !== 0x28 && buf[i] !== 0x29 && buf[i] !== 0x3b)
            i++;
        }
        if (this.count < MAX_FIELDS) {
          this.starts[this.count] = s;
          this.ends[this.count] = i;
          this.count++;
        }
      }
      this.pos = i;
      if (depth === 0 && this.count > 0) return true;
    }
    return this.count > 0;
  }

  /** Field k equals `upper` (upper-case ASCII), ignoring case. */
  is(k: number, upper: string): boolean {
    const s = this.starts[k];
    if (k >= this.count || this.ends[k] - s !== upper.length) return false;
    for (let i = 0; i < upper.length; i++) {
      let b = this.buf[s + i];
      if (b >= 0x61 && b <= 0x7a) b -= 0x20;
      if (b !== upper.charCodeAt(i)) return false;
    }
    return true;
  }

  /** A CNAME's target (field k) as an action: an index in ACTIONS, TCP_ONLY, or NO_ACTION (local data). */
  cnameAction(k: number): number {
    for (const [target, action] of TARGETS) if (this.is(k, target)) return action;
    return NO_ACTION;
  }

  typeAt(k: number): number {
    for (let t = 0; t < TYPES.length; t++) if (this.is(k, TYPES[t])) return t;
    return -1;
  }

  /** Field k as a non-negative integer, or -1. */
  numberAt(k: number): number {
    const s = this.starts[k];
    const e = this.ends[k];
    if (e === s || e - s > 10) return -1;
    let v = 0;
    for (let i = s; i < e; i++) {
      const d = this.buf[i] - 0x30;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
    }
    return v;
  }

  text(k: number): string {
    return k < this.count ? this.buf.toString('utf8', this.starts[k], this.ends[k]) : '';
  }
}

/** Where a record's owner is: a trigger (its bytes, relative to the policy zone), the apex, or nowhere. */
interface Owner {
  kind: 'trigger' | 'apex' | 'invalid' | 'outside';
  buf: Buffer;
  start: number;
  end: number;
  /** For messages. */
  text: string;
}

export function parseRpzZone(zoneBytes: Buffer, zoneName?: string): ParseResult {
  const out = new ParseCollector();
  const f = new RecordCursor(zoneBytes);
  const hash = new Int32Array(2);
  /** The policy zone's apex: triggers are relative to it. */
  let zone = zoneName === undefined ? undefined : normalName(zoneName);
  /** $ORIGIN, which relative owner names are completed with. */
  let origin = zone;
  let defaultTtl = 3600;
  let owner: Owner = { kind: 'invalid', buf: zoneBytes, start: 0, end: 0, text: '' };
  // Local data for one owner may span several records; they are gathered, then made one rule.
  const local = new Map<string, { line: number; records: LocalRecord[] }>();
  const ipLocal = new Map<string, IpRule>();

  const fast: Owner = { kind: 'trigger', buf: zoneBytes, start: 0, end: 0, text: '' };
  const ownerOf = (k: number): Owner => {
    const s = f.starts[k];
    const e = f.ends[k];
    // Fast path, nearly every line of a big zone: a relative name under an origin that is the
    // zone. No string, no object: the one Owner is reused, its text made only for a message.
    if (
      origin !== undefined &&
      origin === zone &&
      zoneBytes[e - 1] !== 0x2e &&
      !(e - s === 1 && zoneBytes[s] === 0x40)
    ) {
      fast.start = s;
      fast.end = e;
      return fast;
    }
    const text = f.text(k);
    const absolute =
      text === '@'
        ? origin
        : text.endsWith('.')
          ? normalName(text)
          : origin === undefined
            ? undefined
            : normalName(`${text}.${origin}`);
    if (absolute === undefined) return { kind: 'invalid', buf: zoneBytes, start: 0, end: 0, text };
    if (zone === undefined || absolute === zone)
      return { kind: 'apex', buf: zoneBytes, start: 0, end: 0, text: absolute };
    if (!absolute.endsWith(`.${zone}`)) return { kind: 'outside', buf: zoneBytes, start: 0, end: 0, text: absolute };
    const trigger = Buffer.from(absolute.slice(0, -(zone.length + 1)), 'latin1');
    return { kind: 'trigger', buf: trigger, start: 0, end: trigger.length, text: absolute };
  };

  while (f.next()) {
    const line = f.line;
    if (zoneBytes[f.starts[0]] === 0x24 && !f.ownerBlank) {
      if (f.is(0, '$ORIGIN')) {
        origin = normalName(f.text(1));
        // With no zone name configured and no SOA yet, the first $ORIGIN names the policy zone.
        zone ??= origin;
      } else if (f.is(0, '$TTL')) defaultTtl = f.numberAt(1) >= 0 ? f.numberAt(1) : defaultTtl;
      else out.skip(`${f.text(0)} directive`);
      continue;
    }
    let k = 0;
    if (!f.ownerBlank) owner = ownerOf(k++);
    if (owner.kind === 'invalid') {
      out.error(line, `owner name "${owner.text}" is not a name (or no $ORIGIN is known for a relative one)`);
      continue;
    }
    let ttl = defaultTtl;
    let type = -1;
    for (; k < f.count; k++) {
      type = f.typeAt(k);
      if (type >= 0) break;
      const n = f.numberAt(k);
      if (n >= 0) ttl = n;
    }
    if (type < 0) {
      out.error(line, 'no record type (or none dnsward knows)');
      continue;
    }
    const rdata = k + 1;
    if (type === SOA) {
      if (zone === undefined && owner.kind === 'apex') zone = origin = owner.text;
      const serial = f.numberAt(rdata + 2);
      if (serial >= 0) out.serial = serial;
      continue;
    }
    if (zone === undefined) {
      out.error(line, 'a record before the zone name is known ($ORIGIN or SOA)');
      continue;
    }
    if (owner.kind === 'apex') {
      if (type !== NS) out.skip(`${TYPES[type]} at the zone apex`);
      continue;
    }
    if (owner.kind === 'outside') {
      out.error(line, `${owner.text} is outside the policy zone ${zone}`);
      continue;
    }
    const special = specialTrigger(owner);
    const address = special === '.rpz-ip' || special === '.rpz-client-ip';
    if (special !== undefined && !address) {
      out.skip(SPECIAL_SUFFIXES.find(([suffix]) => suffix === special)![1]);
      continue;
    }
    // What the record says, for a name or an address trigger alike: an action (a CNAME to one
    // of the action targets) or local data.
    const action = type === CNAME ? f.cnameAction(rdata) : NO_ACTION;
    if (action === TCP_ONLY) {
      out.skip('rpz-tcp-only action');
      continue;
    }
    let record: LocalRecord | undefined;
    if (action === NO_ACTION) {
      const made = localRecord(f, type, rdata, ttl, out, address ? special : undefined);
      if (made === null) continue;
      record = made;
    }
    if (address) ipTrigger(out, owner, special as '.rpz-ip' | '.rpz-client-ip', action, record, line, ipLocal);
    else if (record !== undefined) addLocal(local, owner, line, record, out);
    else {
      const flags = scanName(owner.buf, owner.start, owner.end, hash);
      if (flags < 0) out.error(line, `owner name "${ownerText(owner)}" is not a name`);
      else out.rules.add(hash[0], hash[1], flags === NAME_WILDCARD ? 2 : 0, action, false, line);
    }
  }
  for (const [key, rule] of ipLocal) (key.startsWith('.rpz-ip|') ? out.ipRules : out.clientIpRules).push(rule);
  for (const [name, l] of local) {
    const wildcard = name.startsWith('*.');
    out.rules.addName(
      wildcard ? name.slice(2) : name,
      wildcard ? 'wildcard' : 'exact',
      'local-data',
      l.line,
      l.records,
    );
  }
  return out.result();
}

/** The local data a record holds, or null when it is not served (skipped or wrong, said in `out`). */
function localRecord(
  f: RecordCursor,
  type: number,
  rdata: number,
  ttl: number,
  out: ParseCollector,
  addressTrigger: string | undefined,
): LocalRecord | null {
  if (type === CNAME) {
    const to = normalName(f.text(rdata));
    if (to !== undefined) return { type: 'CNAME', ttl, data: to };
    out.error(f.line, `CNAME target "${f.text(rdata)}" is not a name`);
    return null;
  }
  if (type === A || type === AAAA || type === TXT) {
    const data =
      type === TXT
        ? Array.from({ length: f.count - rdata }, (_, j) => f.text(rdata + j).replace(/^"|"$/g, '')).join('')
        : f.text(rdata);
    return { type: TYPES[type] as LocalRecord['type'], ttl, data };
  }
  out.skip(
    addressTrigger !== undefined
      ? `${addressTrigger.slice(1)} trigger with ${TYPES[type]} local data (not served)`
      : `${TYPES[type]} local data (not served yet)`,
  );
  return null;
}

function ownerText(o: Owner): string {
  return o.text !== '' ? o.text : o.buf.toString('utf8', o.start, o.end);
}

/** The trigger's special suffix (`.rpz-ip`, `.rpz-nsdname`, …) when its last label is one. */
function specialTrigger(o: Owner): string | undefined {
  let dot = o.end - 1;
  while (dot > o.start && o.buf[dot] !== 0x2e) dot--;
  if (o.end - dot < 7 || (o.buf[dot + 1] | 0x20) !== 0x72) return undefined;
  const last = o.buf.toString('latin1', dot, o.end).toLowerCase();
  return last === '.rpz-ip' || last === '.rpz-client-ip' || SPECIAL_SUFFIXES.some(([s]) => s === last)
    ? last
    : undefined;
}

/** An address trigger: its action (an index in ACTIONS), or its local data (gathered per trigger in `ipLocal`, as for names). */
function ipTrigger(
  out: ParseCollector,
  o: Owner,
  suffix: '.rpz-ip' | '.rpz-client-ip',
  action: number,
  record: LocalRecord | undefined,
  line: number,
  ipLocal: Map<string, IpRule>,
): void {
  const trigger = o.buf.toString('latin1', o.start, o.end).toLowerCase();
  const ip = parseIpTrigger(trigger.slice(0, -suffix.length));
  if (ip === undefined) {
    out.error(line, `"${trigger}" is not an ${suffix.slice(1)} trigger (prefix length, then the address reversed)`);
    return;
  }
  if (record !== undefined) {
    const key = `${suffix}|${trigger}`;
    const rule = ipLocal.get(key) ?? {
      family: ip.family,
      bits: ip.bits,
      network: maskedHex(ip.bytes, ip.bits),
      action: 'local-data',
      line,
      trigger,
      records: [],
    };
    rule.records!.push(record);
    ipLocal.set(key, rule);
    return;
  }
  (suffix === '.rpz-ip' ? out.ipRules : out.clientIpRules).push({
    family: ip.family,
    bits: ip.bits,
    network: maskedHex(ip.bytes, ip.bits),
    action: ACTIONS[action],
    line,
    trigger,
  });
}

function addLocal(
  local: Map<string, { line: number; records: LocalRecord[] }>,
  o: Owner,
  line: number,
  record: LocalRecord,
  out: ParseCollector,
): void {
  const key = normalName(o.buf.toString('latin1', o.start, o.end));
  if (key === undefined || key.slice(key.startsWith('*.') ? 2 : 0).includes('*')) {
    out.error(line, `owner name "${ownerText(o)}" is not a name`);
    return;
  }
  const entry = local.get(key) ?? { line, records: [] };
  entry.records.push(record);
  local.set(key, entry);
}
