/**
 * One feed's rules as a compact open-addressing hash table in one Int32Array: per slot, side by
 * side, the 64-bit hash of (scope, wire name) and the rule itself packed in 32 bits (action,
 * scope, exception, source line). A lookup that finds a rule reads one cache line and nothing
 * else; no name is stored (see name-hash.ts), so 5M rules take 8M slots × 12 bytes (96 MiB). The
 * table leaves the parse worker as a transferable buffer, then is put once in shared memory, so
 * every thread that answers queries reads the one copy (shared-feeds.ts). Local data (rare) is
 * kept beside it, by the rule's line. The scopes of one name share their start slot (only the
 * high hash is salted by scope), so the second scope probed for a name finds its cluster already
 * in cache.
 *
 * In front of the table sits a blocked Bloom filter of the rule names (about 12 bits per rule,
 * one 64-byte block per name, 3 bits in it): a suffix that no rule names (most suffixes of most
 * queries) costs one read of a structure a few MiB large, instead of a random read of a table
 * a hundred MiB large that misses the cache and the TLB (measured: bench/policy-bench.ts).
 *
 * Matching, most specific first: an exception (adblock `@@`) anywhere wins; then the query name
 * itself (exact or subtree rules), then each parent from the longest down (subtree or wildcard).
 * Tables are made by RuleTableBuilder (rule-table-builder.ts).
 */
import { suffixHashes, suffixOffsets } from './name-hash.js';
import type { LocalRecord, RuleAction, RuleScope } from './rule-types.js';

export const ACTIONS: readonly RuleAction[] = ['block', 'nxdomain', 'nodata', 'passthru', 'drop', 'local-data'];
export const SCOPES: readonly RuleScope[] = ['exact', 'subtree', 'wildcard'];
// Int32 throughout: uint32 values above 2^31 would be boxed doubles in calls and compares.
export const SCOPE_SALT = new Int32Array([0, 0x2545f491, 0x68e31da4]);
/** A slot's third word: action (3 bits), scope (2), exception (1), line (26); -1 when free (action 7 does not exist). */
export const EMPTY = -1;
export const EXCEPTION_BIT = 1 << 5;
export const LINE_SHIFT = 6;
export const MAX_LINE = (1 << 26) - 1;

export function packRule(action: number, scope: number, exception: boolean, line: number): number {
  return action | (scope << 3) | (exception ? EXCEPTION_BIT : 0) | (Math.min(line, MAX_LINE) << LINE_SHIFT);
}
export const SLOT = 3;
/** Int32 words per filter block (512 bits: one cache line). */
export const FILTER_BLOCK = 16;

export interface RuleSetData {
  capacity: number;
  count: number;
  /** SLOT ints per slot: high hash, low hash, the packed rule (EMPTY when free). */
  slots: Int32Array;
  /** The Bloom filter of rule names: FILTER_BLOCK words per block, a power of two of blocks. */
  filter: Int32Array;
  hasExceptions: boolean;
  /** Local data by the rule's line. */
  local: Array<[number, LocalRecord[]]>;
}

export interface RuleMatch {
  action: RuleAction;
  scope: RuleScope;
  exception: boolean;
  line: number;
  /** Offset in the query's wire name where the matched rule's name starts. */
  offset: number;
  records?: LocalRecord[];
}

/**
 * The filter block of a name: the top bits of its home slot in the table, so that inserting
 * rules in slot order (RuleTableBuilder) also fills the filter in order, not at random.
 */
export function filterShift(capacity: number, filterWords: number): number {
  return Math.round(Math.log2(capacity)) - Math.round(Math.log2(filterWords / FILTER_BLOCK));
}

/** Sets a name's three bits in its block (the bits from the high hash). */
export function filterAdd(filter: Int32Array, shift: number, hi: number, lo: number): void {
  const base = ((lo >>> shift) & ((filter.length >>> 4) - 1)) << 4;
  filter[base + ((hi >>> 5) & 15)] |= 1 << hi;
  filter[base + ((hi >>> 14) & 15)] |= 1 << (hi >>> 9);
  filter[base + ((hi >>> 23) & 15)] |= 1 << (hi >>> 18);
}

/** The buffers to transfer when a table moves between threads. */
export function ruleSetBuffers(d: RuleSetData): ArrayBuffer[] {
  return [d.slots.buffer as ArrayBuffer, d.filter.buffer as ArrayBuffer];
}

/**
 * The table with its arrays in shared memory (a SharedArrayBuffer each), copied once: posted to
 * another thread, a table in shared memory is shared, where one in an ArrayBuffer would be copied
 * (or, transferred, taken away). Arrays already shared are kept as they are.
 */
export function shareRuleSetData(d: RuleSetData): RuleSetData {
  return { ...d, slots: sharedCopy(d.slots), filter: sharedCopy(d.filter) };
}

export function isSharedRuleSetData(d: RuleSetData): boolean {
  return d.slots.buffer instanceof SharedArrayBuffer && d.filter.buffer instanceof SharedArrayBuffer;
}

function sharedCopy(a: Int32Array): Int32Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const shared = new Int32Array(new SharedArrayBuffer(a.byteLength));
  shared.set(a);
  return shared;
}

export function ruleSetBytes(d: RuleSetData): number {
  return d.slots.byteLength + d.filter.byteLength;
}

/** A query name's suffix hashes, computed once and probed against each feed's table. */
export class NameProbe {
  readonly offsets = new Int32Array(128);
  readonly hi = new Int32Array(128);
  readonly lo = new Int32Array(128);
  count = 0;
  buf: Uint8Array = new Uint8Array(1);

  /** The wire name at `start` in `buf` (a request's question works as is: case is folded). */
  setBytes(buf: Uint8Array, start: number): void {
    this.buf = buf;
    this.count = suffixOffsets(buf, start, this.offsets);
    suffixHashes(buf, this.offsets, this.count, this.hi, this.lo);
  }

  /** The name from the suffix at `offset` on, in presentation form, lower case. */
  nameAt(offset: number): string {
    const labels: string[] = [];
    let pos = offset;
    while (pos < this.buf.length) {
      const len = this.buf[pos];
      if (len === 0 || len > 63) break;
      labels.push(
        Buffer.from(this.buf.buffer, this.buf.byteOffset + pos + 1, len)
          .toString('latin1')
          .toLowerCase(),
      );
      pos += len + 1;
    }
    return labels.join('.');
  }
}

export class RuleSet {
  private readonly mask: number;
  private readonly local: Map<number, LocalRecord[]>;
  private readonly slots: Int32Array;
  private readonly filter: Int32Array;
  private readonly filterMask: number;
  private readonly filterShift: number;

  constructor(readonly data: RuleSetData) {
    this.mask = data.capacity - 1;
    this.slots = data.slots;
    this.filter = data.filter;
    this.filterMask = (data.filter.length >>> 4) - 1;
    this.filterShift = filterShift(data.capacity, data.filter.length);
    this.local = new Map(data.local);
  }

  get size(): number {
    return this.data.count;
  }

  /** The packed rule for this name hash and scope, or EMPTY. */
  private find(hi: number, lo: number, scope: number): number {
    const slots = this.slots;
    const h = hi ^ SCOPE_SALT[scope];
    let at = (lo & this.mask) * SLOT;
    const wrap = slots.length;
    for (;;) {
      const rule = slots[at + 2];
      if (rule === EMPTY) return EMPTY;
      if (slots[at] === h && slots[at + 1] === lo && ((rule >>> 3) & 3) === scope) return rule;
      at += SLOT;
      if (at === wrap) at = 0;
    }
  }

  match(p: NameProbe): RuleMatch | undefined {
    let best = EMPTY;
    let bestAt = -1;
    const f = this.filter;
    for (let i = 0; i < p.count; i++) {
      const hi = p.hi[i];
      const lo = p.lo[i];
      const base = ((lo >>> this.filterShift) & this.filterMask) << 4;
      if (
        (f[base + ((hi >>> 5) & 15)] & (1 << hi)) === 0 ||
        (f[base + ((hi >>> 14) & 15)] & (1 << (hi >>> 9))) === 0 ||
        (f[base + ((hi >>> 23) & 15)] & (1 << (hi >>> 18))) === 0
      )
        continue;
      // The name itself: exact or subtree rules; a parent: subtree or wildcard rules.
      let r = this.find(hi, lo, i === 0 ? 0 : 1);
      if (r === EMPTY) r = this.find(hi, lo, i === 0 ? 1 : 2);
      if (r === EMPTY) continue;
      if (r & EXCEPTION_BIT) return this.result(r, i, p);
      if (best === EMPTY) {
        best = r;
        bestAt = i;
        if (!this.data.hasExceptions) break;
      }
    }
    return best === EMPTY ? undefined : this.result(best, bestAt, p);
  }

  private result(rule: number, at: number, p: NameProbe): RuleMatch {
    const line = rule >>> LINE_SHIFT;
    const action = ACTIONS[rule & 7];
    return {
      action,
      scope: SCOPES[(rule >>> 3) & 3],
      exception: (rule & EXCEPTION_BIT) !== 0,
      line,
      offset: p.offsets[at],
      records: action === 'local-data' ? this.local.get(line) : undefined,
    };
  }
}
