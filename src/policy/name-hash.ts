/**
 * 64-bit hashes of DNS names in wire form (lower-cased, as in the cache key): two 32-bit lanes
 * (FNV-1a steps with different primes, each finished with MurmurHash3's fmix32). Rule tables
 * keep only these hashes, not the names: a false match needs both lanes to collide (about one
 * in 10^12 lookups at 5M rules). Labels are folded from the rightmost one, so one pass over a
 * query name's bytes (in the request itself) yields the hash of every suffix.
 */

/** Offsets of each suffix (label boundary) of the wire name at `start` in `buf`, the root's excluded. */
export function suffixOffsets(buf: Uint8Array, start: number, out: Int32Array): number {
  let n = 0;
  let pos = start;
  while (pos < buf.length && n < out.length) {
    const len = buf[pos];
    // The root ends the name; a compression pointer (never in a sane question) ends it too.
    if (len === 0 || len > 63) break;
    out[n++] = pos;
    pos += len + 1;
  }
  return n;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Hashes of every suffix of a wire name: `hi[i]`, `lo[i]` for the suffix starting at
 * `offsets[i]` (label boundaries, as suffixOffsets gives them), in one right-to-left pass over
 * the bytes, ASCII letters folded to lower case (names compare case-insensitively).
 */
export function suffixHashes(
  buf: Uint8Array,
  offsets: Int32Array,
  count: number,
  hi: Int32Array,
  lo: Int32Array,
): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c | 0;
  for (let i = count - 1; i >= 0; i--) {
    const start = offsets[i];
    const len = buf[start];
    const end = start + len;
    for (let j = start + 1; j <= end; j++) {
      let c = buf[j];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ (len | 0x100), 0x01000193);
    b = Math.imul(b ^ (len | 0x100), 0x5bd1e995);
    hi[i] = fmix32(a);
    lo[i] = fmix32(b ^ 0x68e31da4);
  }
}

/**
 * The hash of a whole name given in presentation form (lower case, no trailing dot, no escapes),
 * equal to suffixHashes' first suffix of its wire form, computed from the text without building
 * the wire form: for building tables of millions of rules.
 */
export function nameHash(name: string, out: Int32Array): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c | 0;
  let end = name.length;
  while (end > 0) {
    const dot = name.lastIndexOf('.', end - 1);
    const start = dot + 1;
    for (let j = start; j < end; j++) {
      const c = name.charCodeAt(j);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    const len = end - start;
    a = Math.imul(a ^ (len | 0x100), 0x01000193);
    b = Math.imul(b ^ (len | 0x100), 0x5bd1e995);
    end = dot;
  }
  out[0] = fmix32(a);
  out[1] = fmix32(b ^ 0x68e31da4);
}

/** scanName's result flag: the name began with a `*.` label, left out of the hash. */
export const NAME_WILDCARD = 1;
export const NAME_INVALID = -1;
const labelStarts = new Int32Array(128);

/**
 * A name in presentation form, as bytes of a feed (`buf[start, end)`): checked as normalName
 * checks text (letters, digits, `_`, inner `-`, labels of 1–63, at most 253, an optional
 * trailing dot, `*` only as a whole first label), and hashed into `out` as nameHash would hash
 * it, ASCII letters folded, without making a string. Returns NAME_INVALID, or 0, or
 * NAME_WILDCARD when the name began with `*.` (the hash is then of the rest).
 */
export function scanName(buf: Uint8Array, start: number, end: number, out: Int32Array): number {
  if (end > start && buf[end - 1] === 0x2e) end--;
  let flags = 0;
  if (end - start >= 2 && buf[start] === 0x2a && buf[start + 1] === 0x2e) {
    flags = NAME_WILDCARD;
    start += 2;
  }
  if (end <= start || end - start > 253) return NAME_INVALID;
  let labels = 0;
  let labelStart = start;
  for (let i = start; i <= end; i++) {
    const c = i < end ? buf[i] : 0x2e;
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > 63 || buf[labelStart] === 0x2d || buf[i - 1] === 0x2d) return NAME_INVALID;
      labelStarts[labels++] = labelStart;
      labelStart = i + 1;
      continue;
    }
    const l = c | 0x20;
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d)) return NAME_INVALID;
  }
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c | 0;
  let labelEnd = end;
  for (let k = labels - 1; k >= 0; k--) {
    const s = labelStarts[k];
    for (let j = s; j < labelEnd; j++) {
      let c = buf[j];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    const len = labelEnd - s;
    a = Math.imul(a ^ (len | 0x100), 0x01000193);
    b = Math.imul(b ^ (len | 0x100), 0x5bd1e995);
    labelEnd = s - 1;
  }
  out[0] = fmix32(a);
  out[1] = fmix32(b ^ 0x68e31da4);
  return flags;
}
