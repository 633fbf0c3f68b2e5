/**
 * Whether a query name was seen recently, in fixed memory: two Bloom filters in rotation
 * (the current one and the one before), each of 2^bits bits with 3 hashes. A name counts as
 * seen if either holds it; when the current one holds `capacity` names it becomes the old one
 * and a cleared filter takes its place. So "new" means "not among the last ~capacity to
 * 2×capacity distinct names", with a false "seen" rate under 1% at capacity (2^24 bits, 1M
 * names: 0.3%). Default memory: 2 × 2 MiB.
 */
import { murmur3 } from '../util/hash.js';

const HASHES = 3;
const IN_CURRENT = 1;
const IN_PREVIOUS = 2;

/** Bytes before the two filters in a shared buffer: which of them is the current one. */
export const SHARED_HEADER = 8;

export class SeenNames {
  private current: Uint8Array;
  private previous: Uint8Array;
  private inserted = 0;
  private readonly mask: number;
  private readonly halves: Uint8Array[] | null = null;
  private readonly header: Int32Array | null = null;

  /** A buffer to lay the two filters in, so other threads can read them (src/plane/seen-filter-reader.ts). */
  static sharedBuffer(bits = 24): SharedArrayBuffer {
    return new SharedArrayBuffer(SHARED_HEADER + 2 * (1 << (bits - 3)));
  }

  constructor(
    private readonly bits = 24,
    readonly capacity = 1 << 20,
    shared?: SharedArrayBuffer,
  ) {
    const n = 1 << (bits - 3);
    if (shared !== undefined) {
      if (shared.byteLength !== SHARED_HEADER + 2 * n)
        throw new RangeError(`a shared seen-name buffer for 2^${bits} bits is ${SHARED_HEADER + 2 * n} bytes`);
      this.header = new Int32Array(shared, 0, 2);
      this.halves = [new Uint8Array(shared, SHARED_HEADER, n), new Uint8Array(shared, SHARED_HEADER + n, n)];
      const current = Atomics.load(this.header, 0);
      this.current = this.halves[current];
      this.previous = this.halves[1 - current];
    } else {
      this.current = new Uint8Array(n);
      this.previous = new Uint8Array(n);
    }
    this.mask = (1 << bits) - 1;
  }

  /** The last name's hashes: the live path asks has() and then addIfNew() for the same name. */
  private lastName: string | null = null;
  private lastH1 = 0;
  private lastH2 = 0;
  /** The last pair's first member and its hashes (a client asks many names). */
  private lastA = '';
  private lastA1 = murmur3('', 0x5eed);
  private lastA2 = murmur3('', 0x9e37);

  private hash(name: string): void {
    if (name === this.lastName) return;
    this.lastName = name;
    this.lastH1 = murmur3(name, 0x5eed);
    this.lastH2 = murmur3(name, 0x9e37) | 1;
  }

  /**
   * Hashes the pair (a, b) without building a string: b's two hashes (given, e.g. by another
   * filter that just probed b, or computed) mixed with a's.
   */
  private hashPair(a: string, b1: number, b2: number): void {
    if (a !== this.lastA) {
      this.lastA = a;
      this.lastA1 = murmur3(a, 0x5eed);
      this.lastA2 = murmur3(a, 0x9e37);
    }
    this.lastName = null;
    this.lastH1 = fmix32(b1 ^ Math.imul(this.lastA1, 0x9e3779b1));
    this.lastH2 = fmix32(b2 ^ Math.imul(this.lastA2, 0x85ebca6b)) | 1;
  }

  /** Whether the pair (a, the name `names` last probed) was seen: integer work only (the live path asks it for every repeat). */
  hasPairWithLast(a: string, names: SeenNames): boolean {
    this.hashPair(a, names.lastH1, names.lastH2);
    return this.probeHashed() !== 0;
  }

  /** Marks the pair (a, the name `names` last probed) seen; true when it was not seen before. */
  addPairWithLastIfNew(a: string, names: SeenNames): boolean {
    this.hashPair(a, names.lastH1, names.lastH2);
    return this.addHashed(this.probeHashed());
  }

  /** Marks the pair (a, b) seen; true when it was not seen before. */
  addPairIfNew(a: string, b: string): boolean {
    this.hashPair(a, murmur3(b, 0x5eed), murmur3(b, 0x9e37));
    return this.addHashed(this.probeHashed());
  }

  /** Whether `name` was seen (in either filter), without marking it. */
  has(name: string): boolean {
    const found = this.probe(name);
    return found !== 0;
  }

  /** Marks `name` seen; returns true when it was not seen before. */
  addIfNew(name: string): boolean {
    return this.addHashed(this.probe(name));
  }

  private addHashed(found: number): boolean {
    if (found & IN_CURRENT) return false;
    for (let i = 0; i < HASHES; i++) {
      const bit = (this.lastH1 + Math.imul(i, this.lastH2)) & this.mask;
      this.current[bit >>> 3] |= 1 << (bit & 7);
    }
    if (++this.inserted >= this.capacity) this.rotate();
    return found === 0;
  }

  /** IN_CURRENT and/or IN_PREVIOUS for `name` (its hashes are kept for a following addIfNew). */
  private probe(name: string): number {
    this.hash(name);
    return this.probeHashed();
  }

  private probeHashed(): number {
    let inCurrent = true;
    let inPrevious = true;
    for (let i = 0; i < HASHES; i++) {
      const bit = (this.lastH1 + Math.imul(i, this.lastH2)) & this.mask;
      const byte = bit >>> 3;
      const flag = 1 << (bit & 7);
      if ((this.current[byte] & flag) === 0) inCurrent = false;
      if ((this.previous[byte] & flag) === 0) inPrevious = false;
    }
    return (inCurrent ? IN_CURRENT : 0) | (inPrevious ? IN_PREVIOUS : 0);
  }

  get bytes(): number {
    return this.current.length * 2;
  }

  /** The filters and fill count, for snapshots. */
  export(): { current: Uint8Array; previous: Uint8Array; inserted: number } {
    return { current: this.current, previous: this.previous, inserted: this.inserted };
  }

  import(state: { current: Uint8Array; previous: Uint8Array; inserted: number }): void {
    if (state.current.length !== this.current.length || state.previous.length !== this.previous.length)
      throw new RangeError(`seen-name filters must be 2^${this.bits} bits`);
    this.current.set(state.current);
    this.previous.set(state.previous);
    this.inserted = state.inserted;
  }

  private rotate(): void {
    const old = this.previous;
    this.previous = this.current;
    // A reader in another thread may probe the half being cleared: it then finds a name not
    // seen, and asks the brain, which is the safe way to be wrong.
    old.fill(0);
    this.current = old;
    this.inserted = 0;
    if (this.header !== null) Atomics.store(this.header, 0, this.halves![0] === old ? 0 : 1);
  }
}

/** murmur3's finaliser: spreads the mixed bits of a pair's hash. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
