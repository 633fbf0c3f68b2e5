/**
 * An RFC 1035 master-file reader for local zones: $ORIGIN, $TTL, `@`, relative names, blank
 * owners (the previous owner), parentheses across lines, `;` comments, class IN, TTLs with
 * BIND units (1h30m). Record types: A, AAAA, CNAME, TXT, MX, SRV, NAPTR, PTR, SOA, NS.
 * Every problem names the file, the line and the reason; nothing is half loaded.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** One record as read, its data in dns-packet's form (so it can be encoded once, at load). */
export interface ZoneRecord {
  /** Absolute owner name without the trailing dot, as written (case kept); '' for the root. */
  name: string;
  type: ZoneRecordType;
  ttl: number;
  data: unknown;
  line: number;
}

export const ZONE_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'NAPTR', 'PTR', 'SOA', 'NS'] as const;
export type ZoneRecordType = (typeof ZONE_RECORD_TYPES)[number];

export class ZoneFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    // Line 0: a problem of the zone's settings (balance), not of a line of its file.
    super(line === 0 ? `${file}: ${reason}` : `${file} line ${line}: ${reason}`);
  }
}

const MAX_TTL = 0x7fffffff;
const MAX_RECORDS = 1_000_000;
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

interface Token {
  text: string;
  quoted: boolean;
}

/** One logical entry: its tokens, its first line, and whether it started with blank space (owner omitted). */
interface Entry {
  tokens: Token[];
  line: number;
  blankOwner: boolean;
}

/** Splits the text into logical entries, joining parenthesised lines and dropping comments. */
function* entries(text: string, file: string): Generator<Entry> {
  let tokens: Token[] = [];
  let depth = 0;
  let startLine = 1;
  let blankOwner = false;
  let line = 1;
  let i = 0;
  let atLineStart = true;
  const flush = function* (): Generator<Entry> {
    if (tokens.length > 0) yield { tokens, line: startLine, blankOwner };
    tokens = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      if (depth === 0) {
        yield* flush();
        atLineStart = true;
      }
      continue;
    }
    if (atLineStart && depth === 0) {
      startLine = line;
      blankOwner = c === ' ' || c === '\t';
      atLineStart = false;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      depth++;
      i++;
      continue;
    }
    if (c === ')') {
      if (depth === 0) throw new ZoneFileError(file, line, 'a ")" without its "("');
      depth--;
      i++;
      continue;
    }
    if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length || text[i] === '\n')
          throw new ZoneFileError(file, line, 'a quoted string is not closed on its line');
        const d = text[i];
        if (d === '"') break;
        if (d === '\\') {
          value += text.slice(i, i + 2);
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      i++;
      tokens.push({ text: value, quoted: true });
      continue;
    }
    let value = '';
    while (i < text.length) {
      const d = text[i];
      if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === ';' || d === '(' || d === ')' || d === '"')
        break;
      if (d === '\\' && i + 1 < text.length) {
        value += text.slice(i, i + 2);
        i += 2;
        continue;
      }
      value += d;
      i++;
    }
    tokens.push({ text: value, quoted: false });
  }
  if (depth > 0) throw new ZoneFileError(file, startLine, 'a "(" is never closed');
  yield* flush();
}

/** A TTL: seconds, or BIND units (1h30m, 2d). */
function parseTtl(text: string): number | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= MAX_TTL ? n : null;
  }
  if (!/^(\d+[smhdwSMHDW])+$/.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhdwSMHDW])/g)) total += Number(m[1]) * UNIT[m[2].toLowerCase()];
  return total <= MAX_TTL ? total : null;
}

/** Turns `\DDD` and `\X` escapes into the bytes they stand for (latin1 string). */
function unescape(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(\d{3}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(Number(e)) : e));
}

export interface ParseZoneOptions {
  /** The zone's name: the origin before any $ORIGIN, and where every record must lie. */
  origin: string;
  /** Named in errors: the file's path, or `zones[i].records`. */
  file: string;
  /** The TTL of records without one before any $TTL line. */
  defaultTtl?: number;
}

/** Normalises a presentation name (absolute, no trailing dot); throws a reason when invalid. */
function absolute(name: string, origin: string): string {
  let out: string;
  if (name === '@') out = origin;
  else if (name.endsWith('.') && !name.endsWith('\\.')) out = name === '.' ? '' : name.slice(0, -1);
  else out = origin === '' ? name : `${name}.${origin}`;
  const labels = out === '' ? [] : splitLabels(out);
  let wire = 1;
  for (const label of labels) {
    const bytes = unescape(label).length;
    if (bytes === 0) throw new Error(`"${name}" has an empty label`);
    if (bytes > 63) throw new Error(`"${name}" has a label longer than 63 bytes`);
    wire += bytes + 1;
  }
  if (wire > 255) throw new Error(`"${name}" is longer than 255 bytes`);
  return out;
}

/** Labels of a presentation name, split at unescaped dots. */
export function splitLabels(name: string): string[] {
  const labels: string[] = [];
  let current = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '\\' && i + 1 < name.length) {
      current += c + name[i + 1];
      i++;
    } else if (c === '.') {
      labels.push(current);
      current = '';
    } else current += c;
  }
  labels.push(current);
  return labels;
}

function uint(text: string | undefined, max: number, what: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max)
    throw new Error(`expected ${what} (0-${max}), got ${text === undefined ? 'nothing' : `"${text}"`}`);
  return Number(text);
}

/** Parses a zone's text into its records; throws ZoneFileError naming the line and reason. */
export function parseZoneText(text: string, options: ParseZoneOptions): ZoneRecord[] {
  const { file } = options;
  let origin = absolute(
    options.origin.length === 0 ? '.' : options.origin.endsWith('.') ? options.origin : `${options.origin}.`,
    '',
  );
  let defaultTtl: number | null = options.defaultTtl ?? null;
  let lastOwner: string | null = null;
  let lastTtl: number | null = null;
  const records: ZoneRecord[] = [];
  for (const entry of entries(text, file)) {
    const fail = (reason: string): never => {
      throw new ZoneFileError(file, entry.line, reason);
    };
    const t = entry.tokens;
    const first = t[0].text;
    if (!t[0].quoted && first.startsWith('$') && !entry.blankOwner) {
      const directive = first.toUpperCase();
      if (directive === '$ORIGIN') {
        if (t.length !== 2) fail('$ORIGIN takes one name');
        if (!t[1].text.endsWith('.')) fail(`$ORIGIN must be an absolute name ending in ".", got "${t[1].text}"`);
        try {
          origin = absolute(t[1].text, origin);
        } catch (err) {
          fail((err as Error).message);
        }
      } else if (directive === '$TTL') {
        const ttl = t.length === 2 ? parseTtl(t[1].text) : null;
        if (ttl === null)
          fail(
            `$TTL takes one TTL (seconds or units such as 1h), got "${t
              .slice(1)
              .map((x) => x.text)
              .join(' ')}"`,
          );
        defaultTtl = ttl;
      } else if (directive === '$INCLUDE') fail('$INCLUDE is not supported: put the records in this file');
      else fail(`unknown directive ${first}`);
      continue;
    }
    let pos = 0;
    let owner: string;
    if (entry.blankOwner) {
      if (lastOwner === null) fail('a record without an owner name, and no record before it to take it from');
      owner = lastOwner!;
    } else {
      try {
        owner = absolute(t[0].text, origin);
      } catch (err) {
        return fail((err as Error).message);
      }
      pos = 1;
    }
    let ttl: number | null = null;
    let sawClass = false;
    // TTL and class come in either order before the type (RFC 1035 §5.1).
    for (let k = 0; k < 2 && pos < t.length; k++) {
      const word = t[pos].text;
      const asTtl = /^\d/.test(word) ? parseTtl(word) : null;
      if (ttl === null && asTtl !== null) {
        ttl = asTtl;
        pos++;
      } else if (!sawClass && /^(IN|CH|CS|HS)$/i.test(word)) {
        if (word.toUpperCase() !== 'IN') fail(`class ${word} is not served: only IN`);
        sawClass = true;
        pos++;
      } else if (/^\d/.test(word) && asTtl === null)
        fail(`"${word}" is not a TTL (seconds up to ${MAX_TTL}, or units such as 1h)`);
    }
    if (pos >= t.length) fail('expected a record type');
    const type = t[pos].text.toUpperCase();
    pos++;
    if (!(ZONE_RECORD_TYPES as readonly string[]).includes(type))
      fail(`record type "${t[pos - 1].text}" is not supported (expected one of ${ZONE_RECORD_TYPES.join(', ')})`);
    const rdata = t.slice(pos);
    let data: unknown;
    try {
      data = parseRdata(type as ZoneRecordType, rdata, origin);
    } catch (err) {
      return fail(`${type}: ${(err as Error).message}`);
    }
    if (ttl === null) {
      // RFC 2308: $TTL, else the previous record's; the SOA's minimum when it is the first.
      ttl = defaultTtl ?? lastTtl ?? (type === 'SOA' ? (data as { minimum: number }).minimum : null);
      if (ttl === null) fail('no TTL: give one, or a $TTL line before the first record');
    }
    lastOwner = owner!;
    lastTtl = ttl;
    if (records.length >= MAX_RECORDS) fail(`more than ${MAX_RECORDS} records`);
    records.push({ name: owner!, type: type as ZoneRecordType, ttl: ttl!, data, line: entry.line });
  }
  return records;
}

function expectCount(rdata: Token[], n: number, shape: string): string[] {
  if (rdata.length !== n)
    throw new Error(`expected ${shape}, got ${rdata.length} field${rdata.length === 1 ? '' : 's'}`);
  return rdata.map((x) => x.text);
}

function domain(text: string, origin: string): string {
  const name = absolute(text, origin);
  return name === '' ? '.' : name;
}

function parseRdata(type: ZoneRecordType, rdata: Token[], origin: string): unknown {
  switch (type) {
    case 'A': {
      const [a] = expectCount(rdata, 1, 'an IPv4 address');
      if (!isIPv4(a)) throw new Error(`"${a}" is not an IPv4 address`);
      return a;
    }
    case 'AAAA': {
      const [a] = expectCount(rdata, 1, 'an IPv6 address');
      if (!isIPv6(a)) throw new Error(`"${a}" is not an IPv6 address`);
      return a;
    }
    case 'CNAME':
    case 'PTR':
    case 'NS': {
      const [n] = expectCount(rdata, 1, 'one domain name');
      return domain(n, origin);
    }
    case 'MX': {
      const [p, x] = expectCount(rdata, 2, 'PREFERENCE EXCHANGE');
      return { preference: uint(p, 65535, 'a preference'), exchange: domain(x, origin) };
    }
    case 'SRV': {
      const [p, w, port, target] = expectCount(rdata, 4, 'PRIORITY WEIGHT PORT TARGET');
      return {
        priority: uint(p, 65535, 'a priority'),
        weight: uint(w, 65535, 'a weight'),
        port: uint(port, 65535, 'a port'),
        target: domain(target, origin),
      };
    }
    case 'NAPTR': {
      if (rdata.length !== 6)
        throw new Error(
          `expected ORDER PREFERENCE "FLAGS" "SERVICES" "REGEXP" REPLACEMENT, got ${rdata.length} fields`,
        );
      const [o, p, flags, services, regexp, replacement] = rdata;
      const text = (x: Token) => {
        const v = unescape(x.text);
        if (v.length > 255) throw new Error('a character-string is longer than 255 bytes');
        return v;
      };
      return {
        order: uint(o.text, 65535, 'an order'),
        preference: uint(p.text, 65535, 'a preference'),
        flags: text(flags),
        services: text(services),
        regexp: text(regexp),
        replacement: domain(replacement.text, origin),
      };
    }
    case 'TXT': {
      if (rdata.length === 0) throw new Error('expected at least one character-string');
      // Latin1 strings (one char a byte), not Buffers: the records travel to I/O threads by structured clone.
      return rdata.map((x) => {
        const bytes = unescape(x.text);
        if (bytes.length > 255)
          throw new Error('a character-string is longer than 255 bytes (split it into several quoted strings)');
        return bytes;
      });
    }
    case 'SOA': {
      const [m, r, serial, refresh, retry, expire, minimum] = expectCount(
        rdata,
        7,
        'MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM',
      );
      const seconds = (x: string, what: string) => {
        const v = parseTtl(x);
        if (v === null) throw new Error(`expected ${what} in seconds, got "${x}"`);
        return v;
      };
      return {
        mname: domain(m, origin),
        rname: domain(r, origin),
        serial: uint(serial, 0xffffffff, 'a serial'),
        refresh: seconds(refresh, 'a refresh'),
        retry: seconds(retry, 'a retry'),
        expire: seconds(expire, 'an expire'),
        minimum: seconds(minimum, 'a minimum'),
      };
    }
  }
}
