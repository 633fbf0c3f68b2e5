/**
 * The shared block table: the brain (analysis thread) writes Tunnel Guard's blocks into a
 * SharedArrayBuffer, and every I/O thread checks each query against it with no message and no
 * allocation. One writer, many readers, no locks:
 *
 * - Two copies of the table live side by side. The writer fills the inactive copy, makes it the
 *   active one, and bumps a generation counter. A reader notes the generation, probes the active
 *   copy, and checks the generation again; a change means the writer may have been rewriting
 *   what it read, so it reads again (a copy is only rewritten after another flip).
 * - Entries are keyed by the 64-bit hash of a name (src/policy/name-hash.ts, the same hash the
 *   policy's rule tables use), so a query's every suffix is checked in one pass over its wire
 *   name: a block on a registered domain covers all its subdomains. A block for one client on
 *   one domain is keyed by the domain's hash mixed with the client address's.
 * - Operator quarantines and allows (CIDR ranges, a handful) travel as a small JSON document in
 *   the same buffer, with a version the reader checks with one load per query.
 *
 * Bounds: SLOTS entries per copy (open addressing, at most half full: MAX_ENTRIES blocks; more are
 * left out and counted), EDE_BYTES of answer text per entry, LISTS_BYTES of operator lists.
 */
import { type Cidr, cidrContains, parseCidr } from '../util/cidr.js';
import { nameHash, suffixHashes, suffixOffsets } from '../policy/name-hash.js';

export const SLOTS = 16_384;
export const MAX_ENTRIES = SLOTS / 2;
const EDE_BYTES = 200;
const LISTS_BYTES = 64 * 1024;
/** Int32 words per slot: hash hi, hash lo, kind, text length. */
const SLOT_WORDS = 4;

const HEADER_WORDS = 8;
const H_GEN = 0;
const H_ACTIVE = 1;
const H_COUNT0 = 2; // H_COUNT0 + copy: entries in each copy
const H_LISTS_VERSION = 4;
const H_LISTS_LENGTH = 5;
const H_PAIRS0 = 6; // H_PAIRS0 + copy: client-domain entries in each copy

export const BlockKind = { DOMAIN: 1, CLIENT_DOMAIN: 2 } as const;

const COPY_SLOT_BYTES = SLOTS * SLOT_WORDS * 4;
const COPY_UNTIL_BYTES = SLOTS * 8;
const COPY_TEXT_BYTES = SLOTS * EDE_BYTES;
const COPY_BYTES = COPY_SLOT_BYTES + COPY_UNTIL_BYTES + COPY_TEXT_BYTES;
const COPIES_OFFSET = HEADER_WORDS * 4;
const LISTS_OFFSET = COPIES_OFFSET + 2 * COPY_BYTES;
export const BLOCK_TABLE_BYTES = LISTS_OFFSET + LISTS_BYTES;

export interface BlockInput {
  kind: (typeof BlockKind)[keyof typeof BlockKind];
  /** The registered domain, lower case, no trailing dot. */
  domain: string;
  /** The one client a CLIENT_DOMAIN block is for. */
  client?: string;
  /** Seconds since the epoch. */
  until: number;
  /** The answer's RFC 8914 text (what the client and the query log see). */
  text: string;
}

export interface OperatorLists {
  quarantines: Array<{ client: string; until: number; text: string }>;
  /** An allow exempts `client` (a range; any client when absent) from blocks on `domain` (any when absent). */
  allows: Array<{ client?: string; domain?: string; until: number }>;
}

/** What a lookup found, in a reused object (no allocation per query). */
export class BlockHit {
  /** 0: nothing; else a BlockKind, or QUARANTINE. */
  kind = 0;
  text = '';
  private readonly textBytes = new Uint8Array(EDE_BYTES);
  private textLength = 0;

  /** The EDE text, decoded only when asked (a hit is rare; the decode allocates). */
  reasonText(): string {
    return this.text !== ''
      ? this.text
      : (this.text = Buffer.from(this.textBytes.subarray(0, this.textLength)).toString('utf8'));
  }

  setFrom(bytes: Uint8Array, offset: number, length: number, kind: number): void {
    this.kind = kind;
    this.textLength = length;
    this.textBytes.set(bytes.subarray(offset, offset + length));
    this.text = '';
  }

  setText(kind: number, text: string): void {
    this.kind = kind;
    this.text = text;
  }
}

export const QUARANTINE = 3;

const clientHashScratch = new Int32Array(2);
const encoder = new TextEncoder();

/** FNV-1a over the address text in two lanes, like nameHash: no string is built. */
export function clientHash(client: string, out: Int32Array): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x9747b28c | 0;
  for (let i = 0; i < client.length; i++) {
    const c = client.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  out[0] = a;
  out[1] = b;
}

/** The key of a (client, domain) pair: the domain's hash moved by the client's, so neither alone matches. */
function pairKey(hi: number, lo: number, chi: number, clo: number, out: Int32Array): void {
  out[0] = Math.imul(hi ^ chi, 0x2545f491) ^ 0x5bd1e995;
  out[1] = Math.imul(lo ^ clo, 0x68e31da4) ^ 0x01000193;
}

export class BlockTable {
  private readonly header: Int32Array;
  private readonly slots: Int32Array[];
  private readonly until: Float64Array[];
  private readonly texts: Uint8Array[];
  private readonly lists: Uint8Array;
  /** Entries the writer left out (more blocks than MAX_ENTRIES). */
  overflow = 0;
  // Reader scratch, reused per query.
  private readonly offsets = new Int32Array(128);
  private readonly hi = new Int32Array(128);
  private readonly lo = new Int32Array(128);
  private readonly key = new Int32Array(2);
  private readonly client = new Int32Array(2);
  /** Suffixes of the name last probed (their hashes are in hi/lo). */
  private suffixes = 0;
  private listsVersion = -1;
  private quarantines: Array<{ match: Cidr; until: number; text: string }> = [];
  private allows: Array<{ match: Cidr | undefined; domain: Int32Array | undefined; until: number }> = [];

  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(BLOCK_TABLE_BYTES);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== BLOCK_TABLE_BYTES)
      throw new Error(`block table buffer is ${buffer.byteLength} bytes, expected ${BLOCK_TABLE_BYTES}`);
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.slots = [0, 1].map((c) => new Int32Array(buffer, COPIES_OFFSET + c * COPY_BYTES, SLOTS * SLOT_WORDS));
    this.until = [0, 1].map((c) => new Float64Array(buffer, COPIES_OFFSET + c * COPY_BYTES + COPY_SLOT_BYTES, SLOTS));
    this.texts = [0, 1].map(
      (c) =>
        new Uint8Array(buffer, COPIES_OFFSET + c * COPY_BYTES + COPY_SLOT_BYTES + COPY_UNTIL_BYTES, COPY_TEXT_BYTES),
    );
    this.lists = new Uint8Array(buffer, LISTS_OFFSET, LISTS_BYTES);
  }

  /** Blocks in the active copy (what readers see now). */
  get size(): number {
    return Atomics.load(this.header, H_COUNT0 + Atomics.load(this.header, H_ACTIVE));
  }

  // ---- the writer (the brain): whole sets, rarely ----

  /** Replaces the blocks readers see: fills the inactive copy, then flips to it. */
  publish(blocks: readonly BlockInput[]): void {
    const copy = 1 - Atomics.load(this.header, H_ACTIVE);
    const slots = this.slots[copy];
    const until = this.until[copy];
    const texts = this.texts[copy];
    slots.fill(0);
    let count = 0;
    let pairs = 0;
    const key = new Int32Array(2);
    for (const b of blocks) {
      if (count >= MAX_ENTRIES) {
        this.overflow++;
        continue;
      }
      nameHash(b.domain, key);
      if (b.kind === BlockKind.CLIENT_DOMAIN) {
        clientHash(b.client ?? '', clientHashScratch);
        pairKey(key[0], key[1], clientHashScratch[0], clientHashScratch[1], key);
        pairs++;
      }
      let slot = (key[0] ^ key[1]) & (SLOTS - 1);
      while (slots[slot * SLOT_WORDS + 2] !== 0) {
        // The same key twice (one domain blocked for two reasons): the later one stands.
        if (slots[slot * SLOT_WORDS] === key[0] && slots[slot * SLOT_WORDS + 1] === key[1]) break;
        slot = (slot + 1) & (SLOTS - 1);
      }
      const fresh = slots[slot * SLOT_WORDS + 2] === 0;
      const text = encoder.encode(b.text);
      const length = Math.min(text.length, EDE_BYTES);
      texts.set(text.subarray(0, length), slot * EDE_BYTES);
      slots[slot * SLOT_WORDS] = key[0];
      slots[slot * SLOT_WORDS + 1] = key[1];
      slots[slot * SLOT_WORDS + 3] = length;
      slots[slot * SLOT_WORDS + 2] = b.kind;
      until[slot] = b.until;
      if (fresh) count++;
    }
    Atomics.store(this.header, H_COUNT0 + copy, count);
    Atomics.store(this.header, H_PAIRS0 + copy, pairs);
    Atomics.store(this.header, H_ACTIVE, copy);
    Atomics.add(this.header, H_GEN, 1);
  }

  /** Replaces the operator's quarantines and allows. */
  publishLists(lists: OperatorLists): void {
    const bytes = encoder.encode(JSON.stringify(lists));
    if (bytes.length > LISTS_BYTES)
      throw new Error(`operator lists take ${bytes.length} bytes, more than the block table's ${LISTS_BYTES}`);
    // Readers decode only after the version moves; an odd version means "being written".
    Atomics.add(this.header, H_LISTS_VERSION, 1);
    this.lists.set(bytes);
    Atomics.store(this.header, H_LISTS_LENGTH, bytes.length);
    Atomics.add(this.header, H_LISTS_VERSION, 1);
  }

  // ---- the readers (I/O threads): every query ----

  /**
   * Whether the query (its wire name at `nameStart` in `request`, from `client`) is blocked at
   * `now` (seconds): fills `hit` and returns its kind, or 0. Allocation-free unless a hit or an
   * operator list is found.
   */
  lookup(request: Uint8Array, nameStart: number, client: string, now: number, hit: BlockHit): number {
    hit.kind = 0;
    const version = Atomics.load(this.header, H_LISTS_VERSION);
    if (version !== this.listsVersion) this.readLists(version);
    if (this.quarantines.length > 0) {
      for (const q of this.quarantines) {
        if (q.until > now && cidrContains(q.match, client)) {
          hit.setText(QUARANTINE, q.text);
          return QUARANTINE;
        }
      }
    }
    for (let attempt = 0; attempt < 4; attempt++) {
      const gen = Atomics.load(this.header, H_GEN);
      const copy = Atomics.load(this.header, H_ACTIVE);
      if (Atomics.load(this.header, H_COUNT0 + copy) === 0) return 0;
      const kind = this.probe(copy, request, nameStart, client, now, hit);
      if (Atomics.load(this.header, H_GEN) === gen) {
        if (kind !== 0 && this.allowed(client, now)) return (hit.kind = 0);
        return kind;
      }
    }
    // The writer flipped four times during one lookup: it is rebuilding in a loop. Fail open.
    return (hit.kind = 0);
  }

  private probe(
    copy: number,
    request: Uint8Array,
    nameStart: number,
    client: string,
    now: number,
    hit: BlockHit,
  ): number {
    const n = suffixOffsets(request, nameStart, this.offsets);
    this.suffixes = n;
    if (n === 0) return 0;
    suffixHashes(request, this.offsets, n, this.hi, this.lo);
    const slots = this.slots[copy];
    const withPairs = Atomics.load(this.header, H_PAIRS0 + copy) > 0;
    if (withPairs) clientHash(client, this.client);
    // Public suffixes themselves are never blocked: the last label alone is not probed.
    for (let i = 0; i < n - 1; i++) {
      let kind = this.find(copy, slots, this.hi[i], this.lo[i], now, hit);
      if (kind !== 0) return kind;
      if (withPairs) {
        pairKey(this.hi[i], this.lo[i], this.client[0], this.client[1], this.key);
        kind = this.find(copy, slots, this.key[0], this.key[1], now, hit);
        if (kind !== 0) return kind;
      }
    }
    return 0;
  }

  private find(copy: number, slots: Int32Array, hi: number, lo: number, now: number, hit: BlockHit): number {
    let slot = (hi ^ lo) & (SLOTS - 1);
    for (let probes = 0; probes < SLOTS; probes++) {
      const base = slot * SLOT_WORDS;
      const kind = slots[base + 2];
      if (kind === 0) return 0;
      if (slots[base] === hi && slots[base + 1] === lo) {
        if (this.until[copy][slot] <= now) return 0;
        hit.setFrom(this.texts[copy], slot * EDE_BYTES, slots[base + 3], kind);
        return kind;
      }
      slot = (slot + 1) & (SLOTS - 1);
    }
    return 0;
  }

  private allowed(client: string, now: number): boolean {
    if (this.allows.length === 0) return false;
    for (const a of this.allows) {
      if (a.until <= now || (a.match !== undefined && !cidrContains(a.match, client))) continue;
      if (a.domain === undefined) return true;
      for (let i = 0; i < this.suffixes; i++) if (this.hi[i] === a.domain[0] && this.lo[i] === a.domain[1]) return true;
    }
    return false;
  }

  private readLists(version: number): void {
    if (version % 2 === 1) return; // being written: the old lists stand until the next query
    const length = Atomics.load(this.header, H_LISTS_LENGTH);
    const text = Buffer.from(this.lists.subarray(0, length)).toString('utf8');
    if (Atomics.load(this.header, H_LISTS_VERSION) !== version) return;
    this.listsVersion = version;
    if (length === 0) return;
    const lists = JSON.parse(text) as OperatorLists;
    this.quarantines = lists.quarantines.flatMap((q) => {
      const match = parseCidr(q.client);
      return typeof match === 'string' ? [] : [{ match, until: q.until, text: q.text }];
    });
    this.allows = lists.allows.flatMap((a) => {
      const match = a.client === undefined ? undefined : parseCidr(a.client);
      if (typeof match === 'string') return [];
      let domain: Int32Array | undefined;
      if (a.domain !== undefined) nameHash(a.domain, (domain = new Int32Array(2)));
      return [{ match, domain, until: a.until }];
    });
  }
}
