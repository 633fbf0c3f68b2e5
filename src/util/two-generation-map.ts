/**
 * A capped map with approximate least-recently-used eviction in O(1) and without reordering on
 * every read: entries live in a young and an old generation of at most maxEntries/2 each. A read
 * that finds a key in the old generation moves it to the young one; when the young one is full,
 * the old one is dropped (those entries were not used for a whole generation) and the young one
 * becomes old. An exact LRU on a JS Map deletes and re-inserts on every read, which costs several
 * times more at a million entries.
 */
export class TwoGenerationMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;
  evictions = 0;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 2)
      throw new RangeError('maxEntries must be an integer of at least 2');
    this.half = maxEntries >>> 1;
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged === undefined) return undefined;
    this.old.delete(key);
    this.insertYoung(key, aged);
    return aged;
  }

  /** Like get, but without making the entry young. */
  peek(key: K): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.insertYoung(key, value);
  }

  delete(key: K): boolean {
    return this.young.delete(key) || this.old.delete(key);
  }

  /** Old entries first, then young ones. */
  *entries(): IterableIterator<[K, V]> {
    yield* this.old.entries();
    yield* this.young.entries();
  }

  /** Both generations as they are, so a restored map evicts exactly as the saved one would have. */
  generations(): { old: Array<[K, V]>; young: Array<[K, V]> } {
    return { old: [...this.old.entries()], young: [...this.young.entries()] };
  }

  /** Iterators over both generations as they are now (iterating them later sees later changes, as Map iterators do). */
  generationIterators(): { old: IterableIterator<[K, V]>; young: IterableIterator<[K, V]> } {
    return { old: this.old.entries(), young: this.young.entries() };
  }

  restore(g: { old: Array<[K, V]>; young: Array<[K, V]> }): void {
    this.old = new Map(g.old);
    this.young = new Map(g.young);
  }

  private insertYoung(key: K, value: V): void {
    if (this.young.size >= this.half) {
      this.evictions += this.old.size;
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
