/**
 * The packet cache: whole answers stored in slabs, not as one Buffer per entry.
 *
 * Why slabs: a Map of retained Buffers makes every entry an ArrayBuffer the garbage collector
 * must track, which showed as multi-millisecond GC pauses under load. Here the bytes live in a
 * few large pages per size class (memcached style), per-entry metadata lives in typed arrays,
 * and the only per-entry JS objects are the key strings in the index Map.
 *
 * Bounds: at most `maxEntries` entries and `maxBytes` of pages. Each size class keeps its own
 * LRU list; the global least-recently-used entry is the oldest of the class tails, so the
 * entry cap evicts in true LRU order, and the byte cap evicts the LRU entry of the class that
 * needs room.
 *
 * Each slot holds the answer as received, followed by the offsets of its TTL fields. A hit
 * copies the answer, stamps the client's ID and question, and writes decremented TTLs at
 * those offsets: no decode.
 */
import { stampClientIdentity } from '../dns/reply.js';
import type { ParsedQuery } from '../dns/query-parser.js';
import type { ScannedResponse } from '../dns/response-scanner.js';
import { Rcode } from '../dns/wire.js';

export interface PacketCacheOptions {
  maxEntries: number;
  maxBytes: number;
  /** TTL floor and ceiling, seconds, for positive answers. */
  minTtl: number;
  maxTtl: number;
  /** Ceiling, seconds, for NXDOMAIN/NODATA (RFC 2308 §5 suggests at most hours). */
  maxNegativeTtl: number;
  /** RFC 8767: how long past expiry an answer may still be served when upstreams fail. */
  staleSeconds: number;
  /** RFC 8767 §4: the TTL written into stale answers. */
  staleAnswerTtl: number;
}

const MIN_SLOT_SHIFT = 7; // 128-byte smallest slot
const CLASS_COUNT = 10; // 128 B … 64 KiB
const PAGE_BYTES = 256 * 1024;

class SizeClass {
  readonly slotBytes: number;
  readonly slotsPerPage: number;
  readonly pages: Buffer[] = [];
  readonly freeSlots: number[] = [];
  head = -1; // most recently used entry
  tail = -1; // least recently used entry
  constructor(index: number) {
    this.slotBytes = 1 << (MIN_SLOT_SHIFT + index);
    this.slotsPerPage = Math.max(1, Math.floor(PAGE_BYTES / this.slotBytes));
  }
  get pageBytes(): number {
    return this.slotsPerPage * this.slotBytes;
  }
}

/** Event counters; the current entry count and bytes are `size` and `bytes`. */
export interface PacketCacheStats {
  inserts: number;
  evictions: number;
  uncacheable: number;
}

export class PacketCache {
  private readonly index = new Map<string, number>();
  private readonly classes: SizeClass[] = [];
  private readonly keys: (string | undefined)[];
  private readonly entryClass: Uint8Array;
  private readonly entrySlot: Int32Array;
  private readonly entryLength: Uint32Array;
  private readonly entryTtlCount: Uint16Array;
  private readonly storedAt: Float64Array;
  private readonly expiresAt: Float64Array;
  private readonly staleUntil: Float64Array;
  private readonly lastUsed: Float64Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly freeEntries: Int32Array;
  private freeEntryCount: number;
  private pageBytesInUse = 0;
  readonly stats: PacketCacheStats = { inserts: 0, evictions: 0, uncacheable: 0 };

  constructor(readonly options: PacketCacheOptions) {
    const n = options.maxEntries;
    this.keys = new Array(n);
    this.entryClass = new Uint8Array(n);
    this.entrySlot = new Int32Array(n);
    this.entryLength = new Uint32Array(n);
    this.entryTtlCount = new Uint16Array(n);
    this.storedAt = new Float64Array(n);
    this.expiresAt = new Float64Array(n);
    this.staleUntil = new Float64Array(n);
    this.lastUsed = new Float64Array(n);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    this.freeEntries = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeEntries[i] = n - 1 - i;
    this.freeEntryCount = n;
    for (let c = 0; c < CLASS_COUNT; c++) this.classes.push(new SizeClass(c));
  }

  get size(): number {
    return this.index.size;
  }

  /** Bytes held in slab pages (the byte bound applies to this). */
  get bytes(): number {
    return this.pageBytesInUse;
  }

  /**
   * Finds `key`. Returns the entry id (≥ 0) when fresh, or -2 - id when only a stale copy
   * exists (for serve-stale), or -1 when absent.
   */
  lookup(key: string, now: number): number {
    const id = this.index.get(key);
    if (id === undefined) return -1;
    if (now < this.expiresAt[id]) {
      this.touch(id, now);
      return id;
    }
    if (now < this.staleUntil[id]) return -2 - id;
    this.remove(id);
    return -1;
  }

  /** The rcode of the answer stored in entry `id` (for RFC 8020: a cached NXDOMAIN above a name). */
  rcodeOf(id: number): number {
    const cls = this.classes[this.entryClass[id]];
    const slot = this.entrySlot[id];
    const page = cls.pages[(slot / cls.slotsPerPage) | 0];
    return page[(slot % cls.slotsPerPage) * cls.slotBytes + 3] & 0x0f;
  }

  /** Writes a fresh answer from entry `id` for this client: its ID, its question, TTLs decremented. */
  answer(id: number, request: Uint8Array, query: ParsedQuery, now: number): Buffer {
    const elapsed = Math.floor((now - this.storedAt[id]) / 1000);
    return this.materialize(id, request, query, elapsed, -1);
  }

  /** Writes a stale answer (RFC 8767) from entry `stale` as returned by lookup (-2 - id). */
  answerStale(staleRef: number, request: Uint8Array, query: ParsedQuery): Buffer {
    const id = -2 - staleRef;
    return this.materialize(id, request, query, 0, this.options.staleAnswerTtl);
  }

  /** The stale copy of `key`, if one may still be served; -1 otherwise. */
  lookupStale(key: string, now: number): number {
    const id = this.index.get(key);
    if (id === undefined || now >= this.staleUntil[id]) return -1;
    return -2 - id;
  }

  private materialize(id: number, request: Uint8Array, query: ParsedQuery, elapsed: number, fixedTtl: number): Buffer {
    const cls = this.classes[this.entryClass[id]];
    const slot = this.entrySlot[id];
    const page = cls.pages[(slot / cls.slotsPerPage) | 0];
    const base = (slot % cls.slotsPerPage) * cls.slotBytes;
    const length = this.entryLength[id];
    const out = Buffer.allocUnsafe(length);
    page.copy(out, 0, base, base + length);
    stampClientIdentity(out, request, query);
    const ttlCount = this.entryTtlCount[id];
    for (let i = 0, p = base + length; i < ttlCount; i++, p += 2) {
      const offset = (page[p] << 8) | page[p + 1];
      let ttl: number;
      if (fixedTtl >= 0) ttl = fixedTtl;
      else {
        const original = page.readUInt32BE(base + offset);
        ttl = original > 0x7fffffff || original <= elapsed ? 0 : original - elapsed;
      }
      out.writeUInt32BE(ttl, offset);
    }
    return out;
  }

  /**
   * Stores an upstream answer if it is cacheable; returns the TTL used, or -1 when not stored.
   * Positive answers live for their smallest TTL; NXDOMAIN and NODATA for the SOA-derived TTL
   * (RFC 2308 §5). Negative answers without an SOA, errors and truncated answers are not cached.
   */
  store(key: string, message: Uint8Array, scan: ScannedResponse, now: number): number {
    const ttl = this.ttlFor(scan);
    if (ttl <= 0) {
      this.stats.uncacheable++;
      return -1;
    }
    const ttlCount = scan.ttlOffsets.length;
    const needed = message.length + 2 * ttlCount;
    const classIndex = classFor(needed);
    if (classIndex < 0 || ttlCount > 0xffff) {
      this.stats.uncacheable++;
      return -1;
    }
    const existing = this.index.get(key);
    if (existing !== undefined) this.remove(existing);
    const id = this.allocateEntry();
    const slot = this.allocateSlot(classIndex);
    if (slot < 0) {
      this.freeEntries[this.freeEntryCount++] = id;
      this.stats.uncacheable++;
      return -1;
    }
    const cls = this.classes[classIndex];
    const page = cls.pages[(slot / cls.slotsPerPage) | 0];
    const base = (slot % cls.slotsPerPage) * cls.slotBytes;
    page.set(message, base);
    let p = base + message.length;
    for (const offset of scan.ttlOffsets) {
      page[p++] = offset >> 8;
      page[p++] = offset & 0xff;
    }
    this.keys[id] = key;
    this.entryClass[id] = classIndex;
    this.entrySlot[id] = slot;
    this.entryLength[id] = message.length;
    this.entryTtlCount[id] = ttlCount;
    this.storedAt[id] = now;
    this.expiresAt[id] = now + ttl * 1000;
    this.staleUntil[id] = now + (ttl + this.options.staleSeconds) * 1000;
    this.index.set(key, id);
    this.linkFront(cls, id, now);
    this.stats.inserts++;
    return ttl;
  }

  private ttlFor(scan: ScannedResponse): number {
    if (scan.truncated) return -1;
    const o = this.options;
    if (scan.rcode === Rcode.NXDOMAIN || (scan.rcode === Rcode.NOERROR && scan.ancount === 0)) {
      if (scan.negativeTtl < 0) return -1;
      return Math.min(scan.negativeTtl, o.maxNegativeTtl);
    }
    if (scan.rcode !== Rcode.NOERROR || scan.minTtl < 0) return -1;
    return Math.max(o.minTtl, Math.min(scan.minTtl, o.maxTtl));
  }

  clear(): void {
    for (const id of this.index.values()) this.remove(id);
  }

  private allocateEntry(): number {
    if (this.freeEntryCount === 0) this.evict(this.globalLru());
    return this.freeEntries[--this.freeEntryCount];
  }

  private allocateSlot(classIndex: number): number {
    const cls = this.classes[classIndex];
    if (cls.freeSlots.length > 0) return cls.freeSlots.pop()!;
    if (this.pageBytesInUse + cls.pageBytes <= this.options.maxBytes) {
      const firstSlot = cls.pages.length * cls.slotsPerPage;
      cls.pages.push(Buffer.alloc(cls.pageBytes));
      this.pageBytesInUse += cls.pageBytes;
      for (let s = cls.slotsPerPage - 1; s >= 1; s--) cls.freeSlots.push(firstSlot + s);
      return firstSlot;
    }
    if (cls.tail < 0) return -1;
    this.evict(cls.tail);
    return cls.freeSlots.pop()!;
  }

  private globalLru(): number {
    let oldest = -1;
    for (const cls of this.classes) {
      if (cls.tail >= 0 && (oldest < 0 || this.lastUsed[cls.tail] < this.lastUsed[oldest])) oldest = cls.tail;
    }
    return oldest;
  }

  private evict(id: number): void {
    this.stats.evictions++;
    this.remove(id);
  }

  private remove(id: number): void {
    const key = this.keys[id];
    if (key === undefined) return;
    const cls = this.classes[this.entryClass[id]];
    this.unlink(cls, id);
    cls.freeSlots.push(this.entrySlot[id]);
    this.index.delete(key);
    this.keys[id] = undefined;
    this.freeEntries[this.freeEntryCount++] = id;
  }

  private touch(id: number, now: number): void {
    const cls = this.classes[this.entryClass[id]];
    this.lastUsed[id] = now;
    if (cls.head === id) return;
    this.unlink(cls, id);
    this.linkFront(cls, id, now);
  }

  private linkFront(cls: SizeClass, id: number, now: number): void {
    this.lastUsed[id] = now;
    this.prev[id] = -1;
    this.next[id] = cls.head;
    if (cls.head >= 0) this.prev[cls.head] = id;
    cls.head = id;
    if (cls.tail < 0) cls.tail = id;
  }

  private unlink(cls: SizeClass, id: number): void {
    const p = this.prev[id];
    const n = this.next[id];
    if (p >= 0) this.next[p] = n;
    else cls.head = n;
    if (n >= 0) this.prev[n] = p;
    else cls.tail = p;
  }
}

function classFor(bytes: number): number {
  for (let c = 0; c < CLASS_COUNT; c++) if (bytes <= 1 << (MIN_SLOT_SHIFT + c)) return c;
  return -1;
}
