/**
 * 64-bit hashes of DNS names in wire form (lower-cased, as in the cache key), as two 32-bit
 * MurmurHash3 halves with different seeds. Rule tables keep only these hashes, not the names:
 * a false match needs a 64-bit collision (about one in 10^12 lookups at 5M rules). A query's
 * suffixes are hashed in place in its key string, without building substrings.
 */
import { murmur3Range } from '../util/hash.js';

export const SEED_HI = 0x9747b28c;
export const SEED_LO = 0x5bd1e995;

/** Wire form of a presentation name (no trailing dot), lower-case, as a latin1 string. */
export function wireName(name: string): string {
  if (name === '') return '\0';
  let out = '';
  for (const label of name.split('.')) out += String.fromCharCode(label.length) + label;
  return `${out}\0`;
}

/** Offsets of each suffix (label boundary) in a wire name, the root's excluded. */
export function suffixOffsets(wire: string, out: Int32Array): number {
  let n = 0;
  let pos = 0;
  while (pos < wire.length && n < out.length) {
    const len = wire.charCodeAt(pos);
    if (len === 0) break;
    out[n++] = pos;
    pos += len + 1;
  }
  return n;
}

/** The wire name's end (the offset of its root label). */
export function wireEnd(wire: string): number {
  let pos = 0;
  while (pos < wire.length) {
    const len = wire.charCodeAt(pos);
    if (len === 0) return pos;
    pos += len + 1;
  }
  return wire.length;
}

export function hashHi(wire: string, start: number, end: number): number {
  return murmur3Range(wire, start, end, SEED_HI);
}

export function hashLo(wire: string, start: number, end: number): number {
  return murmur3Range(wire, start, end, SEED_LO);
}
