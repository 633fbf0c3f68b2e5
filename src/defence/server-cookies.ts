/**
 * DNS server cookies as RFC 9018 mints them (RFC 7873 leaves the format to the server; 9018
 * makes it interoperable): 16 bytes of version 1, three reserved zero bytes, a 32-bit timestamp
 * in seconds and SipHash-2-4(client cookie | version | reserved | timestamp | client address)
 * under a 16-byte secret. A cookie is valid when its hash matches under the current secret or
 * the previous one (a rotation must not invalidate the cookies clients hold), it is at most an
 * hour old and at most five minutes in the future (RFC 9018 §4.3). Checking and minting use one
 * scratch buffer and allocate nothing.
 */
import { sipHash24 } from './siphash.js';

export const SERVER_COOKIE_LENGTH = 16;
/** RFC 9018 §4.3: a cookie older than this is no longer accepted. */
const MAX_AGE_S = 3600;
/** RFC 9018 §4.3: nor one more than this in the future (clock skew within a cluster). */
const MAX_SKEW_S = 300;

export type CookieCheck = 'valid' | 'invalid';

export class ServerCookies {
  private secret: Uint8Array;
  private previous: Uint8Array | null = null;
  /** client cookie (8) | version, reserved, timestamp (8) | address (4 or 16). */
  private readonly input = new Uint8Array(32);
  private readonly hash = new Uint8Array(8);

  constructor(secret: Uint8Array) {
    this.secret = ServerCookies.checked(secret);
  }

  /** A new secret; the one it replaces stays valid until the next change. The same secret again changes nothing. */
  rotate(secret: Uint8Array): void {
    const next = ServerCookies.checked(secret);
    if (equal(next, this.secret)) return;
    this.previous = this.secret;
    this.secret = next;
  }

  /**
   * Writes the server cookie for `clientCookie` (8 bytes at `clientCookieAt` in `source`) and
   * `address` (4 or 16 bytes) at time `nowS` (seconds) into `out` at `outOffset`.
   */
  mint(
    source: Uint8Array,
    clientCookieAt: number,
    address: Uint8Array,
    nowS: number,
    out: Uint8Array,
    outOffset: number,
  ): void {
    out[outOffset] = 1;
    out[outOffset + 1] = 0;
    out[outOffset + 2] = 0;
    out[outOffset + 3] = 0;
    writeUint32(out, outOffset + 4, nowS);
    const n = this.fill(source, clientCookieAt, out, outOffset, address);
    sipHash24(this.secret, this.input, 0, n, out, outOffset + 8);
  }

  /** Whether the server cookie at `serverAt` (`serverLength` bytes) in `source` is one we minted for this client cookie and address, and still fresh. */
  check(
    source: Uint8Array,
    clientCookieAt: number,
    serverAt: number,
    serverLength: number,
    address: Uint8Array,
    nowS: number,
  ): CookieCheck {
    if (serverLength !== SERVER_COOKIE_LENGTH || source[serverAt] !== 1) return 'invalid';
    const ts =
      ((source[serverAt + 4] << 24) |
        (source[serverAt + 5] << 16) |
        (source[serverAt + 6] << 8) |
        source[serverAt + 7]) >>>
      0;
    // Serial-number arithmetic (RFC 1982) on the 32-bit timestamp, as RFC 9018 §4.3 asks.
    const age = (nowS - ts) | 0;
    if (age > MAX_AGE_S || age < -MAX_SKEW_S) return 'invalid';
    const n = this.fill(source, clientCookieAt, source, serverAt, address);
    if (this.matches(this.secret, n, source, serverAt + 8)) return 'valid';
    return this.previous !== null && this.matches(this.previous, n, source, serverAt + 8) ? 'valid' : 'invalid';
  }

  private matches(secret: Uint8Array, inputLength: number, source: Uint8Array, hashAt: number): boolean {
    sipHash24(secret, this.input, 0, inputLength, this.hash, 0);
    let same = true;
    for (let i = 0; i < 8; i++) if (this.hash[i] !== source[hashAt + i]) same = false;
    return same;
  }

  /** Puts the hash input together from the client cookie, the cookie's first 8 bytes and the address; returns its length. */
  private fill(
    source: Uint8Array,
    clientCookieAt: number,
    head: Uint8Array,
    headAt: number,
    address: Uint8Array,
  ): number {
    const input = this.input;
    for (let i = 0; i < 8; i++) input[i] = source[clientCookieAt + i];
    for (let i = 0; i < 8; i++) input[8 + i] = head[headAt + i];
    input.set(address, 16);
    return 16 + address.length;
  }

  private static checked(secret: Uint8Array): Uint8Array {
    if (secret.length !== 16) throw new RangeError('a cookie secret is 16 bytes');
    return Uint8Array.from(secret);
  }
}

function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 24) & 0xff;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
