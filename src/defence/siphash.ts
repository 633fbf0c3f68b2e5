/**
 * SipHash-2-4 (Aumasson and Bernstein), the keyed hash RFC 9018 names for interoperable DNS
 * server cookies. Written here rather than taken from node:crypto (which has no SipHash) so that
 * the cookies dnsward mints are the ones BIND, Knot and Unbound mint from the same secret, and
 * so a cluster of mixed servers can share one secret. 64-bit words are kept as two 32-bit
 * halves in local variables (a round written out, not called: several times faster than the
 * same code over a Uint32Array state, 968 ns then against 141-393 ns now per RFC 9018 input, see
 * docs/BENCHMARKS.md): hashing allocates nothing.
 */

function le32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

/**
 * SipHash-2-4 of `data[start, end)` under the 16-byte `key`, written as 8 bytes (little-endian,
 * as the reference implementation outputs it) into `out` at `outOffset`.
 */
export function sipHash24(
  key: Uint8Array,
  data: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset: number,
): void {
  const k0l = le32(key, 0),
    k0h = le32(key, 4),
    k1l = le32(key, 8),
    k1h = le32(key, 12);
  let v0l = k0l ^ 0x70736575,
    v0h = k0h ^ 0x736f6d65;
  let v1l = k1l ^ 0x6e646f6d,
    v1h = k1h ^ 0x646f7261;
  let v2l = k0l ^ 0x6e657261,
    v2h = k0h ^ 0x6c796765;
  let v3l = k1l ^ 0x79746573,
    v3h = k1h ^ 0x74656462;
  const length = end - start;
  const blocks = start + (length & ~7);
  // One pass per 8-byte block, then the last block (the remaining bytes, little-endian, with the
  // length's low byte on top), then finalization: rounds are 2 per block and 4 at the end.
  for (let i = start; ; i += 8) {
    let ml: number, mh: number, rounds: number;
    if (i < blocks) {
      ml = le32(data, i);
      mh = le32(data, i + 4);
      rounds = 2;
    } else if (i === blocks) {
      ml = 0;
      mh = (length & 0xff) << 24;
      for (let j = 0; i + j < end; j++) {
        if (j < 4) ml |= data[i + j] << (8 * j);
        else mh |= data[i + j] << (8 * (j - 4));
      }
      rounds = 2;
    } else {
      ml = 0;
      mh = 0;
      v2l ^= 0xff;
      rounds = 4;
    }
    v3l ^= ml;
    v3h ^= mh;
    for (let r = 0; r < rounds; r++) {
      let lo: number, hi: number;
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      lo = (v0l + v1l) | 0;
      v0h = (v0h + v1h + (lo >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
      v0l = lo;
      lo = (v1l << 13) | (v1h >>> 19);
      hi = (v1h << 13) | (v1l >>> 19);
      v1l = lo ^ v0l;
      v1h = hi ^ v0h;
      lo = v0l;
      v0l = v0h;
      v0h = lo;
      // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
      lo = (v2l + v3l) | 0;
      v2h = (v2h + v3h + (lo >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
      v2l = lo;
      lo = (v3l << 16) | (v3h >>> 16);
      hi = (v3h << 16) | (v3l >>> 16);
      v3l = lo ^ v2l;
      v3h = hi ^ v2h;
      // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
      lo = (v0l + v3l) | 0;
      v0h = (v0h + v3h + (lo >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
      v0l = lo;
      lo = (v3l << 21) | (v3h >>> 11);
      hi = (v3h << 21) | (v3l >>> 11);
      v3l = lo ^ v0l;
      v3h = hi ^ v0h;
      // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
      lo = (v2l + v1l) | 0;
      v2h = (v2h + v1h + (lo >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
      v2l = lo;
      lo = (v1l << 17) | (v1h >>> 15);
      hi = (v1h << 17) | (v1l >>> 15);
      v1l = lo ^ v2l;
      v1h = hi ^ v2h;
      lo = v2l;
      v2l = v2h;
      v2h = lo;
    }
    if (rounds === 4) break;
    v0l ^= ml;
    v0h ^= mh;
  }
  const rl = v0l ^ v1l ^ v2l ^ v3l;
  const rh = v0h ^ v1h ^ v2h ^ v3h;
  for (let j = 0; j < 4; j++) {
    out[outOffset + j] = (rl >>> (8 * j)) & 0xff;
    out[outOffset + 4 + j] = (rh >>> (8 * j)) & 0xff;
  }
}
