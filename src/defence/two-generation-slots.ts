/**
 * Slots for the keys a per-client table tracks, in two generations (approximate LRU, as in
 * src/util/two-generation-map.ts): the caller keeps each key's state at its slot in a typed
 * array allocated at start; this class only says which slot. Each generation owns one half of
 * the 2 × half slots, filled in order, so dropping the old generation frees its half at once,
 * with no free list. A key seen again while in the old generation moves to a young slot (the
 * caller copies its state). Used by the rate limiter, response-rate limiting and the dynamic
 * blocks' traffic counter; no allocation per lookup once a key has its slot.
 */
export class TwoGenerationSlots<K> {
  private young = new Map<K, number>();
  private old = new Map<K, number>();
  private youngBase = 0;
  /** Keys forgotten with their generation. */
  evictions = 0;
  /** Bumped each time the old generation is dropped (a slot number held from before may now be someone else's). */
  generation = 0;

  constructor(readonly half: number) {}

  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Whether the young generation is full: the next claim drops the old one. */
  get full(): boolean {
    return this.young.size >= this.half;
  }

  /** The first of the old generation's half of the slots. */
  get oldBase(): number {
    return this.half - this.youngBase;
  }

  /** The key's slot in the young generation, or -1. */
  youngSlot(key: K): number {
    const slot = this.young.get(key);
    return slot === undefined ? -1 : slot;
  }

  /** The key's slot in the old generation, taken out of it (its state is the caller's to move), or -1. */
  takeOld(key: K): number {
    const slot = this.old.get(key);
    if (slot === undefined) return -1;
    this.old.delete(key);
    return slot;
  }

  /** A young slot for a key that has none; when the young generation is full, the old one is dropped first. */
  claim(key: K): number {
    if (this.young.size >= this.half) this.dropOld();
    const slot = this.youngBase + this.young.size;
    this.young.set(key, slot);
    return slot;
  }

  /** Forgets the old generation: the young one becomes old, and the old half of the slots is young again. */
  dropOld(): void {
    this.evictions += this.old.size;
    this.old = this.young;
    this.young = new Map();
    this.youngBase = this.half - this.youngBase;
    this.generation++;
  }
}
