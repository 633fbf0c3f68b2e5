/** DNS wire-format constants (RFC 1035, RFC 6891, RFC 8914) used on the hot path. */

export const HEADER_LENGTH = 12;
export const MAX_NAME_LENGTH = 255;
export const MAX_LABEL_LENGTH = 63;
/** Classic DNS over UDP limit for clients that send no EDNS(0) OPT record (RFC 1035 §4.2.1). */
export const DEFAULT_UDP_PAYLOAD = 512;
/** The EDNS buffer size recommended by DNS Flag Day 2020: avoids IP fragmentation on most paths. */
export const DNSWARD_UDP_PAYLOAD = 1232;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
  /** RFC 7873: the query's server cookie is missing or not one we made (extended rcode, needs EDNS). */
  BADCOOKIE: 23,
} as const;

export const RcodeName: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADVERS',
  23: 'BADCOOKIE',
};

export const QType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  NULL: 10,
  PTR: 12,
  MX: 15,
  TXT: 16,
  KEY: 25,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  DNSKEY: 48,
  HTTPS: 65,
  SVCB: 64,
  AXFR: 252,
  IXFR: 251,
  ANY: 255,
} as const;

const qtypeNames: Record<number, string> = {};
for (const [name, value] of Object.entries(QType)) qtypeNames[value] = name;
qtypeNames[99] = 'SPF';
qtypeNames[257] = 'CAA';
qtypeNames[13] = 'HINFO';
qtypeNames[52] = 'TLSA';

const qtypeNumbers: Record<string, number> = {};
for (const [value, name] of Object.entries(qtypeNames)) qtypeNumbers[name] = Number(value);

/** A query type from its mnemonic (any case), `TYPE<n>` (RFC 3597), or a number; null if none. */
export function qtypeFromText(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 65535 ? value : null;
  if (typeof value !== 'string') return null;
  const upper = value.toUpperCase();
  if (qtypeNumbers[upper] !== undefined) return qtypeNumbers[upper];
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  return generic && Number(generic[1]) <= 65535 ? Number(generic[1]) : null;
}

/** Mnemonic for a query type, `TYPE<n>` (RFC 3597) for the ones without a name here. */
export function qtypeName(qtype: number): string {
  return qtypeNames[qtype] ?? `TYPE${qtype}`;
}

export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** The DO bit lives in the OPT record's TTL field (RFC 3225). */
export const EDNS_DO = 0x8000;

/** RFC 8914 Extended DNS Error info-codes used by dnsward. */
export const ExtendedError = {
  OTHER: 0,
  STALE_ANSWER: 3,
  BLOCKED: 15,
  CENSORED: 16,
  FILTERED: 17,
  PROHIBITED: 18,
  NO_REACHABLE_AUTHORITY: 22,
  NETWORK_ERROR: 23,
} as const;
export const EDNS_OPTION_EDE = 15;
export const EDNS_OPTION_ECS = 8;
/** DNS cookies (RFC 7873). */
export const EDNS_OPTION_COOKIE = 10;
