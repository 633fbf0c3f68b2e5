/**
 * SipHash-2-4 (Aumasson and Bernstein), the keyed hash RFC 9018 names for interoperable DNS
 * server cookies. Written here rather than taken from node:crypto (which has no SipHash) so that
 * the cookies dnsward mints are the ones BIND, Knot and Unbound mint from the same secret, and
 * so a cluster of mixed servers can share one secret. 64-bit words are kept as two unsigned
 * 32-bit halves in one module-level Uint32Array: hashing allocates nothing.
 */

/** v0..v3, each as [low, high]: v0 at 0-1, v1 at 2-3, v2 at 4-5, v3 at 6-7. */
const v = new Uint32Array(8);

function add(a: number, b: number): void {
  const lo = (v[a] + v[b]) >>> 0;
  v[a + 1] = (v[a + 1] + v[b + 1] + (lo < v[a] ? 1 : 0)) >>> 0;
  v[a] = lo;
}

/** Rotates word `a` left by `n` bits, 0 < n < 32. */
function rotl(a: number, n: number): void {
  const lo = v[a];
  const hi = v[a + 1];
  v[a] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  v[a + 1] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
}

function rotl32(a: number): void {
  const lo = v[a];
  v[a] = v[a + 1];
  v[a + 1] = lo;
}

function xor(a: number, b: number): void {
  v[a] ^= v[b];
  v[a + 1] ^= v[b + 1];
}

function round(): void {
  add(0, 2); rotl(2, 13); xor(2, 0); rotl32(0);
  add(4, 6); rotl(6, 16); xor(6, 4);
  add(0, 6); rotl(6, 21); xor(6, 0);
  add(4, 2); rotl(2, 17); xor(2, 4); rotl32(4);
}

function le32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function compress(lo: number, hi: number): void {
  v[6] ^= lo; v[7] ^= hi;
  round(); round();
  v[0] ^= lo; v[1] ^= hi;
}

/**
 * SipHash-2-4 of `data[start, end)` under the 16-byte `key`, written as 8 bytes (little-endian,
 * as the reference implementation outputs it) into `out` at `outOffset`.
 */
export function sipHash24(key: Uint8Array, data: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void {
  const k0lo = le32(key, 0), k0hi = le32(key, 4), k1lo = le32(key, 8), k1hi = le32(key, 12);
  v[0] = (k0lo ^ 0x70736575) >>> 0; v[1] = (k0hi ^ 0x736f6d65) >>> 0;
  v[2] = (k1lo ^ 0x6e646f6d) >>> 0; v[3] = (k1hi ^ 0x646f7261) >>> 0;
  v[4] = (k0lo ^ 0x6e657261) >>> 0; v[5] = (k0hi ^ 0x6c796765) >>> 0;
  v[6] = (k1lo ^ 0x79746573) >>> 0; v[7] = (k1hi ^ 0x74656462) >>> 0;
  const length = end - start;
  let i = start;
  for (; i + 8 <= end; i += 8) compress(le32(data, i), le32(data, i + 4));
  // The last block: the remaining bytes, little-endian, with the length's low byte on top.
  let lo = 0;
  let hi = (length & 0xff) << 24;
  for (let j = 0; i + j < end; j++) {
    const byte = data[i + j];
    if (j < 4) lo |= byte << (8 * j);
    else hi |= byte << (8 * (j - 4));
  }
  compress(lo >>> 0, hi >>> 0);
  v[4] ^= 0xff;
  round(); round(); round(); round();
  const rlo = (v[0] ^ v[2] ^ v[4] ^ v[6]) >>> 0;
  const rhi = (v[1] ^ v[3] ^ v[5] ^ v[7]) >>> 0;
  for (let j = 0; j < 4; j++) {
    out[outOffset + j] = (rlo >>> (8 * j)) & 0xff;
    out[outOffset + 4 + j] = (rhi >>> (8 * j)) & 0xff;
  }
}
