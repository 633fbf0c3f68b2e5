/**
 * One feed's rules as a compact open-addressing hash table in typed arrays: per slot, side by
 * side in one Int32Array (so a probe touches one cache line), the 64-bit hash of (scope, wire
 * name) and the rule's index; per rule its action, flags and source line. No name is stored (see
 * name-hash.ts), so 5M rules take about 5M × (2 × 12 + 7) bytes, and the whole table can move
 * between threads as transferable buffers. Local data (rare) is kept beside it by rule index.
 * The scopes of one name share their start slot (only the high hash is salted by scope), so the
 * second scope probed for a name finds its cluster already in cache.
 *
 * Matching, most specific first: an exception (adblock `@@`) anywhere wins; then the query name
 * itself (exact or subtree rules), then each parent from the longest down (subtree or wildcard).
 */
import { nameHash, suffixHashes, suffixOffsets } from './name-hash.js';
import type { LocalRecord, ParsedRule, RuleAction, RuleScope } from './policy-rule.js';

export const ACTIONS: readonly RuleAction[] = ['block', 'nxdomain', 'nodata', 'passthru', 'drop', 'local-data'];
const SCOPES: readonly RuleScope[] = ['exact', 'subtree', 'wildcard'];
// Int32 throughout: uint32 values above 2^31 would be boxed doubles in calls and compares.
const SCOPE_SALT = new Int32Array([0, 0x2545f491, 0x68e31da4]);
const EXCEPTION = 1;
const EMPTY = -1;
const SLOT = 3;

export interface RuleSetData {
  capacity: number;
  count: number;
  /** SLOT ints per slot: high hash, low hash, rule index (EMPTY when free). */
  slots: Int32Array;
  action: Uint8Array;
  scope: Uint8Array;
  flags: Uint8Array;
  line: Uint32Array;
  hasExceptions: boolean;
  local: Array<[number, LocalRecord[]]>;
}

export interface RuleMatch {
  rule: number;
  action: RuleAction;
  scope: RuleScope;
  exception: boolean;
  line: number;
  /** Offset in the query's wire name where the matched rule's name starts. */
  offset: number;
  records?: LocalRecord[];
}

function capacityFor(n: number): number {
  let c = 16;
  while (c < n * 2) c *= 2;
  return c;
}

export function buildRuleSet(rules: ParsedRule[]): RuleSetData {
  const capacity = capacityFor(rules.length);
  const data: RuleSetData = {
    capacity,
    count: 0,
    slots: new Int32Array(capacity * SLOT),
    action: new Uint8Array(rules.length),
    scope: new Uint8Array(rules.length),
    flags: new Uint8Array(rules.length),
    line: new Uint32Array(rules.length),
    hasExceptions: false,
    local: [],
  };
  const mask = capacity - 1;
  const slots = data.slots;
  const hash = new Int32Array(2);
  for (let i = 2; i < slots.length; i += SLOT) slots[i] = EMPTY;
  for (const r of rules) {
    const scope = SCOPES.indexOf(r.scope);
    nameHash(r.name.startsWith('*.') ? r.name.slice(2) : r.name, hash);
    const hi = hash[0] ^ SCOPE_SALT[scope];
    const lo = hash[1];
    let slot = lo & mask;
    // A name listed twice in one feed keeps its first rule (RPZ: one action per trigger).
    let duplicate = false;
    while (slots[slot * SLOT + 2] !== EMPTY) {
      if (slots[slot * SLOT] === hi && slots[slot * SLOT + 1] === lo) {
        duplicate = true;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (duplicate) continue;
    const index = data.count++;
    slots[slot * SLOT] = hi;
    slots[slot * SLOT + 1] = lo;
    slots[slot * SLOT + 2] = index;
    data.action[index] = ACTIONS.indexOf(r.action);
    data.scope[index] = scope;
    data.flags[index] = r.exception ? EXCEPTION : 0;
    data.line[index] = r.line;
    if (r.exception) data.hasExceptions = true;
    if (r.records) data.local.push([index, r.records]);
  }
  return data;
}

/** The buffers to transfer when a table moves between threads. */
export function ruleSetBuffers(d: RuleSetData): ArrayBuffer[] {
  return [d.slots, d.action, d.scope, d.flags, d.line].map((a) => a.buffer as ArrayBuffer);
}

export function ruleSetBytes(d: RuleSetData): number {
  return d.slots.byteLength + d.action.length * 7;
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
      labels.push(Buffer.from(this.buf.buffer, this.buf.byteOffset + pos + 1, len).toString('latin1').toLowerCase());
      pos += len + 1;
    }
    return labels.join('.');
  }
}

export class RuleSet {
  private readonly mask: number;
  private readonly local: Map<number, LocalRecord[]>;
  private readonly slots: Int32Array;
  private readonly scopes: Uint8Array;

  constructor(readonly data: RuleSetData) {
    this.mask = data.capacity - 1;
    this.slots = data.slots;
    this.scopes = data.scope;
    this.local = new Map(data.local);
  }

  get size(): number {
    return this.data.count;
  }

  private find(hi: number, lo: number, scope: number): number {
    const slots = this.slots;
    const h = hi ^ SCOPE_SALT[scope];
    let at = (lo & this.mask) * SLOT;
    const wrap = slots.length;
    for (;;) {
      const rule = slots[at + 2];
      if (rule === EMPTY) return -1;
      if (slots[at] === h && slots[at + 1] === lo && this.scopes[rule] === scope) return rule;
      at += SLOT;
      if (at === wrap) at = 0;
    }
  }

  match(p: NameProbe): RuleMatch | undefined {
    let best = -1;
    let bestAt = -1;
    for (let i = 0; i < p.count; i++) {
      // The name itself: exact or subtree rules; a parent: subtree or wildcard rules.
      const hi = p.hi[i];
      const lo = p.lo[i];
      let r = this.find(hi, lo, i === 0 ? 0 : 1);
      if (r < 0) r = this.find(hi, lo, i === 0 ? 1 : 2);
      if (r < 0) continue;
      if (this.data.flags[r] & EXCEPTION) return this.result(r, i, p);
      if (best < 0) {
        best = r;
        bestAt = i;
        if (!this.data.hasExceptions) break;
      }
    }
    return best < 0 ? undefined : this.result(best, bestAt, p);
  }

  private result(rule: number, at: number, p: NameProbe): RuleMatch {
    const d = this.data;
    return {
      rule,
      action: ACTIONS[d.action[rule]],
      scope: SCOPES[d.scope[rule]],
      exception: (d.flags[rule] & EXCEPTION) !== 0,
      line: d.line[rule],
      offset: p.offsets[at],
      records: this.local.get(rule),
    };
  }
}
