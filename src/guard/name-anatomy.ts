/**
 * Tunnel Guard stage 0: a query name split into registered domain and subdomain with the
 * Public Suffix List (tldts, private suffixes included, so `x.github.io` is its own domain).
 *
 * Input is the lower-cased wire name as a latin1 string (the pipeline's question key), so
 * binary labels (iodine's Base128 puts raw bytes in labels) survive byte for byte: the PSL
 * lookup only ever sees the rightmost labels, and the subdomain keeps its raw bytes.
 */
import { parse } from 'tldts';
import { TwoGenerationMap } from '../util/two-generation-map.js';

export interface NameAnatomy {
  /** e.g. `example.co.uk`; the whole name when it has no registrable part (`localhost`, `co.uk`). */
  registeredDomain: string;
  publicSuffix: string;
  /** Whether the suffix comes from the PSL's private section (github.io, vercel.app, …). */
  privateSuffix: boolean;
  /** Labels left of the registered domain, raw bytes as latin1 chars, leftmost first. */
  subdomainLabels: string[];
  /** Bytes of the subdomain labels, without separators: the room a tunnel has for payload. */
  subdomainBytes: number;
  /** Labels with a byte outside printable ASCII: binary encodings such as Base128. */
  binaryLabels: number;
}

/** PSL rules span at most 5 labels; one more gives the registrable label. */
const SUFFIX_WINDOW = 6;
const options = {
  allowPrivateDomains: true,
  extractHostname: false,
  validateHostname: false,
  detectIp: false,
  mixedInputs: false,
} as const;

/** Splits a wire-format name (length-prefixed labels, as latin1) into its labels. */
export function wireLabels(wireName: string): string[] {
  const labels: string[] = [];
  let pos = 0;
  while (pos < wireName.length) {
    const length = wireName.charCodeAt(pos);
    if (length === 0) break;
    labels.push(wireName.slice(pos + 1, pos + 1 + length));
    pos += length + 1;
  }
  return labels;
}

export function anatomize(labels: string[]): NameAnatomy {
  // The PSL makes each reverse-zone octet a suffix; a reverse lookup is one address under one zone.
  const n = labels.length;
  if (n >= 2 && labels[n - 1] === 'arpa' && (labels[n - 2] === 'in-addr' || labels[n - 2] === 'ip6'))
    return reverseAnatomy(labels);
  const { registered, registeredLabels, publicSuffix, isPrivate } = suffixSplit(labels);
  const subdomainLabels = labels.slice(0, Math.max(0, labels.length - registeredLabels));
  let subdomainBytes = 0;
  let binaryLabels = 0;
  for (const label of subdomainLabels) {
    subdomainBytes += label.length;
    if (hasBinary(label)) binaryLabels++;
  }
  return {
    registeredDomain: registered === '' ? '.' : registered,
    publicSuffix,
    privateSuffix: isPrivate,
    subdomainLabels,
    subdomainBytes,
    binaryLabels,
  };
}

interface SuffixSplit {
  registered: string;
  registeredLabels: number;
  publicSuffix: string;
  isPrivate: boolean;
}

/**
 * Splits remembered by everything right of the first label ("miss.example.com" for
 * "m1.miss.example.com"), kept only when the first label is plainly subdomain: a tunnel's or a
 * CDN's millions of first labels then cost one PSL walk per parent, not one per name. A `*.`
 * rule treats every first label alike, so it caches safely; only a PSL rule naming one specific
 * first label under a cached parent (a bare `s3.amazonaws.com` asked as a name) would be split
 * as its siblings were. Bounded: 65,536 parents.
 */
const splits = new TwoGenerationMap<string, SuffixSplit>(1 << 16);

/** Forgets remembered splits (tests compare cached and uncached results). */
export function clearAnatomyCache(): void {
  splits.restore({ old: [], young: [] });
}

function suffixSplit(labels: string[]): SuffixSplit {
  const n = labels.length;
  let key = '';
  if (n >= 3) {
    for (let i = 1; i < n; i++) key += String.fromCharCode(labels[i].length) + labels[i];
    const cached = splits.get(key);
    if (cached !== undefined) return cached;
  }
  // A raw '.' byte inside a label must not split it: no PSL rule contains \x01.
  const tail = labels
    .slice(Math.max(0, n - SUFFIX_WINDOW))
    .map((l) => (l.includes('.') ? l.replaceAll('.', '\x01') : l));
  const parsed = parse(tail.join('.'), options);
  const registered = (parsed.domain ?? tail.join('.')).replaceAll('\x01', '.');
  const split = {
    registered,
    registeredLabels: registered === '' ? 0 : countLabels(parsed.domain ?? tail.join('.')),
    publicSuffix: parsed.publicSuffix ?? '',
    isPrivate: parsed.isPrivate === true,
  };
  if (n >= 3 && parsed.domain !== null && split.registeredLabels <= n - 1) splits.set(key, split);
  return split;
}

function countLabels(name: string): number {
  let n = 1;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 0x2e) n++;
  return n;
}

function hasBinary(label: string): boolean {
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return true;
  }
  return false;
}

function reverseAnatomy(labels: string[]): NameAnatomy {
  const subdomainLabels = labels.slice(0, labels.length - 2);
  let subdomainBytes = 0;
  let binaryLabels = 0;
  for (const label of subdomainLabels) {
    subdomainBytes += label.length;
    if (hasBinary(label)) binaryLabels++;
  }
  return {
    registeredDomain: `${labels[labels.length - 2]}.arpa`,
    publicSuffix: 'arpa',
    privateSuffix: false,
    subdomainLabels,
    subdomainBytes,
    binaryLabels,
  };
}
