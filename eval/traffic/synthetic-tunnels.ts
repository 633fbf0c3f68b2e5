/**
 * Synthetic sessions of tunnel and exfiltration tools that Debian does not package, built from
 * their documented encodings (the real iodine and dns2tcp are captured by ../real-tunnels.ts):
 *
 * - dnscat2: hex-encoded packets (9-byte header + data) split into labels, TXT/CNAME/MX, polls;
 * - DNSExfiltrator: `init.<base32>.base64.<domain>`, then `<chunk>.<base64url labels>` over TXT;
 * - Cobalt Strike DNS beacon: A check-ins `<hex id>` at its sleep time, `api`/`post` hex tasking;
 * - Sliver DNS: base32 labels up to 254 bytes with a nonce, A/TXT;
 * - iodine-like bulk (base32 over NULL, base128 raw bytes over NULL) for encodings the real capture skips;
 * - low-and-slow: 9 bytes of hex per query every 90 s (0.1 B/s) or every 9 s (1 B/s);
 * - word-encoded: one dictionary word per payload byte, hyphen-joined;
 * - spread: one file split over 30 domains, a few queries each;
 * - low-and-slow variants: a text file at 0.1, 0.3 or 1 B/s in chunks of 3 to 12 bytes, hex,
 *   xor-ed hex or base32, over A or TXT, at jittered intervals (0.3 to 1.7 times the mean);
 * - polling: a dns2tcp-like client that polls with short counter-and-nonce names every second
 *   before its transfer starts (the polls carry no payload but are counted as name bytes).
 *
 * Every query records the payload bytes it carries, so leaks before a block are measured, not guessed.
 */
import { BASE32, HEX, Random } from './random.js';
import { pseudoWord, siteName, WORDS } from './vocabulary.js';

export interface TunnelQuery {
  ts: number;
  client: string;
  qname: string;
  qtype: number;
  /** Payload bytes this query carries upstream. */
  payload: number;
}

export interface TunnelSession {
  tool: string;
  client: string;
  /** Registered domains the session uses. */
  domains: string[];
  queries: TunnelQuery[];
}

export interface SessionOptions {
  rng: Random;
  client: string;
  start: number;
}

const DICTIONARY = buildDictionary();

function buildDictionary(): string[] {
  const words = [...new Set(WORDS)];
  const rng = new Random(256);
  while (words.length < 256) {
    const w = pseudoWord(rng);
    if (!words.includes(w)) words.push(w);
  }
  return words.slice(0, 256);
}

/** A fresh domain; the digits keep it apart from every name the benign generator makes. */
function tunnelDomain(rng: Random): string {
  return `${siteName(rng).replace(/[0-9]/g, '')}${rng.int(10, 99)}${pseudoWord(rng)}.${rng.pick(['com', 'net', 'org', 'io', 'xyz', 'info', 'top'])}`;
}

/** Splits text into labels of at most `max` bytes. */
function labels(text: string, max = 63): string {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += max) out.push(text.slice(i, i + max));
  return out.join('.');
}

function hex(rng: Random, bytes: number): string {
  return rng.chars(HEX, bytes * 2);
}

export function dnscat2(o: SessionOptions): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const queries: TunnelQuery[] = [];
  let ts = o.start;
  for (let i = 0; i < 300; i++) {
    const data = rng.next() < 0.4 ? rng.int(40, 110) : 0;
    queries.push({
      ts,
      client: o.client,
      qname: `${labels(hex(rng, 9 + data))}.${domain}`,
      qtype: rng.pick([16, 5, 15]),
      payload: data,
    });
    ts += data > 0 ? rng.exp(0.2) : 1;
  }
  return { tool: 'dnscat2', client: o.client, domains: [domain], queries };
}

export function dnsExfiltrator(o: SessionOptions): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const queries: TunnelQuery[] = [
    { ts: o.start, client: o.client, qname: `init.${rng.chars(BASE32, 24)}.base64.${domain}`, qtype: 16, payload: 15 },
  ];
  let ts = o.start + 0.5;
  const chunks = rng.int(100, 200);
  for (let i = 0; i < chunks; i++) {
    const chars = rng.int(150, 189);
    queries.push({
      ts,
      client: o.client,
      qname: `${i}.${labels(rng.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', chars))}.${domain}`,
      qtype: 16,
      payload: Math.floor((chars * 3) / 4),
    });
    ts += rng.exp(0.3);
  }
  return { tool: 'dnsexfiltrator', client: o.client, domains: [domain], queries };
}

export function cobaltStrike(o: SessionOptions): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const id = hex(rng, 4);
  const queries: TunnelQuery[] = [];
  let ts = o.start;
  for (let i = 0; i < 120; i++) {
    queries.push({ ts, client: o.client, qname: `${id}.${domain}`, qtype: 1, payload: 0 });
    if (rng.next() < 0.1) {
      // Tasking: fetch over TXT, then post output in hex chunks.
      queries.push({ ts: ts + 1, client: o.client, qname: `api.${hex(rng, 3)}${id}.${domain}`, qtype: 16, payload: 4 });
      for (let k = 0; k < rng.int(3, 12); k++)
        queries.push({
          ts: ts + 2 + k * 0.2,
          client: o.client,
          qname: `post.${rng.int(1, 3)}${hex(rng, 28)}.${hex(rng, 4)}${id}.${domain}`,
          qtype: 1,
          payload: 28,
        });
    }
    ts += 60;
  }
  return { tool: 'cobalt-strike', client: o.client, domains: [domain], queries };
}

export function sliver(o: SessionOptions): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const queries: TunnelQuery[] = [];
  let ts = o.start;
  const room = 254 - domain.length - 12;
  for (let i = 0; i < 200; i++) {
    const chars = rng.next() < 0.5 ? rng.int(100, room - 8) : rng.int(16, 40);
    queries.push({
      ts,
      client: o.client,
      qname: `${rng.chars(BASE32, 8)}.${labels(rng.chars(BASE32, chars))}.${domain}`,
      qtype: rng.next() < 0.7 ? 1 : 16,
      payload: Math.floor((chars * 5) / 8),
    });
    ts += rng.exp(0.5);
  }
  return { tool: 'sliver', client: o.client, domains: [domain], queries };
}

export function iodineLike(o: SessionOptions, encoding: 'base32' | 'base128'): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const queries: TunnelQuery[] = [];
  let ts = o.start;
  for (let i = 0; i < 300; i++) {
    const chars = rng.int(60, 200);
    let body: string;
    let payload: number;
    if (encoding === 'base32') {
      body = rng.chars(BASE32, chars);
      payload = Math.floor((chars * 5) / 8);
    } else {
      const bytes = rng.bytes(chars);
      // Base128 uses byte values 0xbc-0xfd and a-z0-9 only, never '.'.
      body = [...bytes]
        .map((b) => (b & 1 ? String.fromCharCode(0xbc + (b % 66)) : 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]))
        .join('');
      payload = Math.floor((chars * 7) / 8);
    }
    queries.push({
      ts,
      client: o.client,
      qname: `${rng.chars(BASE32, 1)}${labels(body, 57)}.${domain}`,
      qtype: 10,
      payload,
    });
    ts += rng.exp(0.1);
  }
  return { tool: `iodine-like-${encoding}`, client: o.client, domains: [domain], queries };
}

/** Low-and-slow exfiltration: `bytesPerSecond` of payload, 9 bytes per query, for `hours`. */
export function lowAndSlow(o: SessionOptions, bytesPerSecond: number, hours: number): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const queries: TunnelQuery[] = [];
  const interval = 9 / bytesPerSecond;
  for (let ts = o.start; ts < o.start + hours * 3600; ts += interval * (0.5 + rng.next())) {
    queries.push({
      ts,
      client: o.client,
      qname: `${hex(rng, 9)}.${rng.pick(['cdn', 'img', 'static'])}.${domain}`,
      qtype: 1,
      payload: 9,
    });
  }
  return { tool: `low-and-slow-${bytesPerSecond}Bps`, client: o.client, domains: [domain], queries };
}

/** Exfiltration with one dictionary word per byte, 6–12 words a query, every 5–20 s. */
export function wordEncoded(o: SessionOptions): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const queries: TunnelQuery[] = [];
  let ts = o.start;
  for (let i = 0; i < 150; i++) {
    const words = Array.from({ length: rng.int(6, 12) }, () => DICTIONARY[rng.int(0, 255)]);
    const half = words.length >> 1;
    queries.push({
      ts,
      client: o.client,
      qname: `${words.slice(0, half).join('-')}.${words.slice(half).join('-')}.${domain}`,
      qtype: 1,
      payload: words.length,
    });
    ts += 5 + rng.next() * 15;
  }
  return { tool: 'word-encoded', client: o.client, domains: [domain], queries };
}

/** One file spread over 30 domains, 4 queries of 30 hex-encoded bytes each. */
export function spread(o: SessionOptions): TunnelSession {
  const { rng } = o;
  const domains = Array.from({ length: 30 }, () => tunnelDomain(rng));
  const queries: TunnelQuery[] = [];
  let ts = o.start;
  for (let k = 0; k < 4; k++)
    for (const domain of domains) {
      queries.push({ ts, client: o.client, qname: `${hex(rng, 30)}.${domain}`, qtype: 1, payload: 30 });
      ts += 2 + rng.next() * 8;
    }
  return { tool: 'spread-30-domains', client: o.client, domains, queries };
}

/** A text-like payload: what a stolen document looks like byte by byte (words, spaces, digits). */
function textPayload(rng: Random, bytes: number): Uint8Array {
  let text = '';
  while (text.length < bytes) text += `${rng.pick(WORDS)}${rng.next() < 0.1 ? ` ${rng.int(0, 9999)}` : ''} `;
  return new TextEncoder().encode(text.slice(0, bytes));
}

function base32Of(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export interface LowAndSlowVariant {
  bytesPerSecond: number;
  encoding: 'hex' | 'xor-hex' | 'base32';
  qtype: 1 | 16;
  hours: number;
}

/**
 * Low-and-slow exfiltration of a text file: chunks of 3 to 12 bytes (a mean interval of
 * chunk / bytesPerSecond, jittered 0.3 to 1.7 times), each chunk with a 2-byte sequence number,
 * encoded as hex, hex after xor with a per-session key, or base32, as A or TXT queries to a
 * domain of its own.
 */
export function lowAndSlowVariant(o: SessionOptions, v: LowAndSlowVariant): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const key = rng.int(1, 255);
  const queries: TunnelQuery[] = [];
  let seq = rng.int(0, 65535);
  for (let ts = o.start; ts < o.start + v.hours * 3600;) {
    const chunk = rng.int(3, 12);
    const data = textPayload(rng, chunk);
    const framed = new Uint8Array(chunk + 2);
    framed[0] = seq >> 8;
    framed[1] = seq & 255;
    framed.set(data, 2);
    seq = (seq + 1) & 0xffff;
    const label =
      v.encoding === 'base32'
        ? base32Of(framed)
        : Buffer.from(v.encoding === 'xor-hex' ? framed.map((b) => b ^ key) : framed).toString('hex');
    queries.push({ ts, client: o.client, qname: `${label}.${domain}`, qtype: v.qtype, payload: chunk });
    ts += (chunk / v.bytesPerSecond) * (0.3 + 1.4 * rng.next());
  }
  return {
    tool: `low-and-slow-${v.bytesPerSecond}Bps-${v.encoding}-${v.qtype === 1 ? 'A' : 'TXT'}`,
    client: o.client,
    domains: [domain],
    queries,
  };
}

/**
 * A polling tunnel (dns2tcp-like): a poll every second for two minutes, named by a 4-hex-digit
 * counter and a 6-character nonce (no payload), then a transfer of 200 queries of 100 bytes of
 * base64-like data each, TXT throughout.
 */
export function polling(o: SessionOptions): TunnelSession {
  const { rng } = o;
  const domain = tunnelDomain(rng);
  const queries: TunnelQuery[] = [];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let ts = o.start;
  let counter = rng.int(0, 4000);
  for (let i = 0; i < 120; i++) {
    queries.push({
      ts,
      client: o.client,
      qname: `${(counter++).toString(16).padStart(4, '0')}${rng.chars(alphabet, 6)}.${domain}`,
      qtype: 16,
      payload: 0,
    });
    ts += 0.8 + 0.4 * rng.next();
  }
  for (let i = 0; i < 200; i++) {
    queries.push({
      ts,
      client: o.client,
      qname: `${labels(rng.chars(alphabet, 136), 63)}.${domain}`,
      qtype: 16,
      payload: 100,
    });
    ts += 0.05 + 0.1 * rng.next();
  }
  return { tool: 'polling-then-bulk', client: o.client, domains: [domain], queries };
}
