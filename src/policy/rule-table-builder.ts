/**
 * Collects a feed's rules as the parsers find them (hashes and a few bytes each, in growing
 * typed arrays: no object per rule) and builds the rule table and its filter at the end, when
 * the number of rules is known. Loading millions of rules is then a pass over the feed's bytes
 * and a pass over these arrays.
 */
import { nameHash } from './name-hash.js';
import type { LocalRecord, RuleAction, RuleScope } from './rule-types.js';
import {
  ACTIONS,
  EMPTY,
  FILTER_BLOCK,
  filterAdd,
  filterShift,
  MAX_LINE,
  packRule,
  SCOPE_SALT,
  SCOPES,
  SLOT,
  type RuleSetData,
} from './rule-set.js';

/** Slots per rule at most 0.7 full: an absent name's probe scans a few slots of one cache line. */
const MAX_LOAD = 0.7;
/** Filter bits per rule: with 3 bits set in a 512-bit block, about 1 % false positives. */
const FILTER_BITS_PER_RULE = 12;

function powerOfTwoAtLeast(n: number, min: number): number {
  let c = min;
  while (c < n) c *= 2;
  return c;
}

export class RuleTableBuilder {
  private hi = new Int32Array(1024);
  private lo = new Int32Array(1024);
  /** action | scope << 3 | exception << 5 */
  private attrs = new Uint8Array(1024);
  private lines = new Uint32Array(1024);
  private n = 0;
  private readonly local: Array<[number, LocalRecord[]]> = [];
  private readonly hash = new Int32Array(2);

  get size(): number {
    return this.n;
  }

  private grow(): void {
    const c = this.hi.length * 2;
    const grown = <T extends Int32Array | Uint8Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(c);
      b.set(a);
      return b;
    };
    this.hi = grown(this.hi, (n) => new Int32Array(n));
    this.lo = grown(this.lo, (n) => new Int32Array(n));
    this.attrs = grown(this.attrs, (n) => new Uint8Array(n));
    this.lines = grown(this.lines, (n) => new Uint32Array(n));
  }

  /** A rule by its name's hash (name-hash.ts: scanName from a feed's bytes, or nameHash). `action`/`scope`: indexes in ACTIONS/SCOPES. */
  add(
    hi: number,
    lo: number,
    scope: number,
    action: number,
    exception: boolean,
    line: number,
    records?: LocalRecord[],
  ): void {
    if (this.n === this.hi.length) this.grow();
    const i = this.n++;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.attrs[i] = action | (scope << 3) | (exception ? 1 << 5 : 0);
    this.lines[i] = line;
    if (records !== undefined) this.local.push([i, records]);
  }

  /** A rule by its name as text (lower case, no trailing dot): allowlists, built-in lists, local data. */
  addName(
    name: string,
    scope: RuleScope,
    action: RuleAction,
    line: number,
    records?: LocalRecord[],
    exception = false,
  ): void {
    nameHash(name, this.hash);
    this.add(this.hash[0], this.hash[1], SCOPES.indexOf(scope), ACTIONS.indexOf(action), exception, line, records);
  }

  /**
   * Puts the rules in the order of their home slots' top 12 bits (a stable counting sort, with
   * 4,096 write streams that stay in cache): inserting in that order then writes one small
   * window of the table at a time instead of the whole table at random, which on a table of
   * 100 MiB costs a cache and TLB miss per rule (measured: 2.4 s of a 4.4 s load of 5M rules).
   * Stable, so of two rules for one name the first in the feed still comes first.
   */
  private sortBySlot(mask: number): Int32Array {
    const n = this.n;
    const tableBits = Math.round(Math.log2(mask + 1));
    const bits = Math.min(12, tableBits);
    const shift = tableBits - bits;
    const counts = new Int32Array((1 << bits) + 1);
    for (let i = 0; i < n; i++) counts[((this.lo[i] & mask) >>> shift) + 1]++;
    for (let b = 1; b < counts.length; b++) counts[b] += counts[b - 1];
    const hi = new Int32Array(n);
    const lo = new Int32Array(n);
    const attrs = new Uint8Array(n);
    const lines = new Uint32Array(n);
    const feedOrder = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const to = counts[(this.lo[i] & mask) >>> shift]++;
      hi[to] = this.hi[i];
      lo[to] = this.lo[i];
      attrs[to] = this.attrs[i];
      lines[to] = this.lines[i];
      feedOrder[to] = i;
    }
    this.hi = hi;
    this.lo = lo;
    this.attrs = attrs;
    this.lines = lines;
    return feedOrder;
  }

  build(): RuleSetData {
    const n = this.n;
    const capacity = powerOfTwoAtLeast(n / MAX_LOAD, 16);
    // At most one block per slot, so a block is always a run of slots (see filterShift).
    const blocks = Math.min(capacity, powerOfTwoAtLeast((n * FILTER_BITS_PER_RULE) / (FILTER_BLOCK * 32), 1));
    const data: RuleSetData = {
      capacity,
      count: 0,
      slots: new Int32Array(capacity * SLOT),
      filter: new Int32Array(blocks * FILTER_BLOCK),
      hasExceptions: false,
      local: [],
    };
    const mask = capacity - 1;
    const shift = filterShift(capacity, data.filter.length);
    const slots = data.slots;
    for (let i = 2; i < slots.length; i += SLOT) slots[i] = EMPTY;
    const local = new Map(this.local);
    // The builder is spent after this: its columns are reordered in place of the old ones.
    const feedOrder = this.sortBySlot(mask);
    for (let i = 0; i < n; i++) {
      const attrs = this.attrs[i];
      const scope = (attrs >>> 3) & 3;
      const hi = this.hi[i] ^ SCOPE_SALT[scope];
      const lo = this.lo[i];
      let at = (lo & mask) * SLOT;
      // A name listed twice (same scope) keeps its first rule (RPZ: one action per trigger).
      let duplicate = false;
      while (slots[at + 2] !== EMPTY) {
        if (slots[at] === hi && slots[at + 1] === lo) {
          duplicate = true;
          break;
        }
        at += SLOT;
        if (at === slots.length) at = 0;
      }
      if (duplicate) continue;
      data.count++;
      const exception = (attrs & (1 << 5)) !== 0;
      slots[at] = hi;
      slots[at + 1] = lo;
      slots[at + 2] = packRule(attrs & 7, scope, exception, this.lines[i]);
      if (exception) data.hasExceptions = true;
      filterAdd(data.filter, shift, this.hi[i], lo);
      const records = local.size > 0 ? local.get(feedOrder[i]) : undefined;
      // Keyed as the slot keeps the line (clamped to MAX_LINE), so a lookup finds it.
      if (records !== undefined) data.local.push([Math.min(this.lines[i], MAX_LINE), records]);
    }
    return data;
  }
}
