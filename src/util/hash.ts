/**
 * MurmurHash3 (x86, 32-bit) over the char codes of a latin1 string: every byte of a DNS label
 * is one char, so binary labels hash like any other. Seeded, so sketches can draw several
 * independent hashes from one function.
 */
export function murmur3(text: string, seed = 0): number {
  return murmur3Range(text, 0, text.length, seed);
}

/** One 4-byte block into the running hash (MurmurHash3 x86_32). */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The last 1–3 bytes, the length, and the final avalanche. */
function finish(h: number, tail: number, tailBytes: number, n: number): number {
  if (tailBytes > 0) {
    let k = Math.imul(tail, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3 of bytes[start, end), ASCII letters folded to lower case: equal to murmur3() of the
 * lower-cased latin1 string of those bytes, without making the string (an I/O thread hashes a
 * query's wire name in the request itself).
 */
export function murmur3Folded(bytes: Uint8Array, start: number, end: number, seed = 0): number {
  const at = (i: number) => {
    const c = bytes[i];
    return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  };
  let h = seed >>> 0;
  const n = end - start;
  const blocks = start + (n & ~3);
  for (let i = start; i < blocks; i += 4)
    h = mixBlock(h, at(i) | (at(i + 1) << 8) | (at(i + 2) << 16) | (at(i + 3) << 24));
  const tailBytes = n & 3;
  let tail = 0;
  if (tailBytes > 0) tail = at(blocks);
  if (tailBytes > 1) tail |= at(blocks + 1) << 8;
  if (tailBytes > 2) tail |= at(blocks + 2) << 16;
  return finish(h, tail, tailBytes, n);
}

/** MurmurHash3 of text[start, end), without taking the substring. */
export function murmur3Range(text: string, start: number, end: number, seed = 0): number {
  let h = seed >>> 0;
  const n = end - start;
  const blocks = start + (n & ~3);
  for (let i = start; i < blocks; i += 4) {
    h = mixBlock(
      h,
      (text.charCodeAt(i) & 0xff) |
        ((text.charCodeAt(i + 1) & 0xff) << 8) |
        ((text.charCodeAt(i + 2) & 0xff) << 16) |
        ((text.charCodeAt(i + 3) & 0xff) << 24),
    );
  }
  const tailBytes = n & 3;
  let tail = 0;
  if (tailBytes > 0) tail = text.charCodeAt(blocks) & 0xff;
  if (tailBytes > 1) tail |= (text.charCodeAt(blocks + 1) & 0xff) << 8;
  if (tailBytes > 2) tail |= (text.charCodeAt(blocks + 2) & 0xff) << 16;
  return finish(h, tail, tailBytes, n);
}
