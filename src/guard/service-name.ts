/**
 * Tunnel Guard stage 0: the protocol structure of a subdomain. Underscored labels (RFC 8552:
 * `_domainkey`, `_dmarc`, `_mta-sts`, `_smtp._tls`, `_bimi`, `_acme-challenge`, SRV's
 * `_service._proto`) name a protocol record of a host. Around them sit two parts a client asking
 * does not choose:
 *
 *   selector   labels left of the leftmost underscored label (`s1`, a 32-character DKIM token,
 *              BIMI's `default`): picked by the domain that publishes the record;
 *   owner      labels right of the rightmost underscored label, down to the registered domain:
 *              the host the record belongs to, e.g. a tenant's subdomain at a multi-tenant mail
 *              provider (`selector1-contoso-com._domainkey.contoso.<provider>`).
 *
 * Only the convention is used: no protocol, provider or selector is listed, so providers never
 * seen are read the same way. A tunnel can dress payload as a selector or owner, which is why the
 * guard weighs these parts low rather than not at all (tunnel-guard.ts).
 */
import { parse } from 'tldts';

export interface ServiceParts {
  /** Index of the leftmost underscored label: labels before it are the selector. */
  first: number;
  /** Index after the rightmost underscored label: labels from it on are the owner. */
  ownerStart: number;
  /**
   * A lookup in a DNS list, not an underscored name: weaker evidence (any word can be a top-level
   * domain), so the guard reads it so only for clients whose role shows they check mail.
   */
  listed: boolean;
}

/**
 * Where a subdomain's protocol labels are, or undefined when it has none. Lookups in DNS lists
 * (RFC 5782) follow the same convention without an underscore: an address (`4.3.2.1.zen.<list>`)
 * or a domain name (`example.com.multi.<list>`) the asker got from mail, written left of the
 * list's zone. Their left part reads as a selector: chosen by whoever sent the mail.
 */
export function serviceParts(labels: readonly string[]): ServiceParts | undefined {
  let first = -1;
  let last = -1;
  for (let i = 0; i < labels.length; i++) {
    // 0x5f is '_'. A lone '_' or '__' is not a protocol name.
    if (labels[i].length >= 3 && labels[i].charCodeAt(0) === 0x5f) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first >= 0) return { first, ownerStart: last + 1, listed: false };
  const listed = listedName(labels);
  return listed > 0 ? { first: listed, ownerStart: labels.length, listed: true } : undefined;
}

/**
 * How many leftmost labels are an address or a domain name looked up in a list: a reversed IPv4
 * (four decimal octets), a reversed IPv6 (32 hex nibbles), or a name ending in a top-level
 * domain with at least one zone label after it. 0 when none.
 */
function listedName(labels: readonly string[]): number {
  if (labels.length >= 4 && isOctet(labels[0]) && isOctet(labels[1]) && isOctet(labels[2]) && isOctet(labels[3]))
    return 4;
  if (labels.length >= 32) {
    let nibbles = 0;
    while (nibbles < 32 && labels[nibbles].length === 1 && isHexChar(labels[nibbles].charCodeAt(0))) nibbles++;
    if (nibbles === 32) return 32;
  }
  // A domain: some label after the first is a top-level domain, and a zone label follows it.
  for (let k = 1; k < labels.length - 1 && k < 8; k++) if (isTld(labels[k])) return k + 1;
  return 0;
}

function isOctet(label: string): boolean {
  if (label.length === 0 || label.length > 3) return false;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(label) <= 255;
}

function isHexChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

const tlds = new Map<string, boolean>();

/** Whether a label is an ICANN top-level domain (the PSL, via tldts); remembered, bounded. */
function isTld(label: string): boolean {
  if (label.length < 2 || label.length > 24) return false;
  let known = tlds.get(label);
  if (known === undefined) {
    const parsed = parse(`x.${label}`, {
      allowPrivateDomains: false,
      extractHostname: false,
      validateHostname: false,
      detectIp: false,
      mixedInputs: false,
    });
    known = parsed.isIcann === true && parsed.publicSuffix === label;
    if (tlds.size >= 4096) tlds.clear();
    tlds.set(label, known);
  }
  return known;
}

/**
 * The share of `label`'s characters already spelled by `text` (the longest run of the label that
 * `text` contains, over the label's length). Text said twice in one name is information once: a
 * tenant's selector spells the tenant's label (`selector1-contoso-com` … `contoso`).
 * Runs shorter than 4 characters do not count (`com` is in everything).
 */
export function repeatedShare(label: string, text: string): number {
  if (label.length < 4 || text.length < 4) return 0;
  let best = 0;
  for (let i = 0; i + best < label.length; i++) {
    // Grow the run from i while text still contains it.
    let n = best + 1;
    while (i + n <= label.length && text.includes(label.slice(i, i + n))) n++;
    if (n - 1 > best) best = n - 1;
  }
  return best >= 4 ? best / label.length : 0;
}
