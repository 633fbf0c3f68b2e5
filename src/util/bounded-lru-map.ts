/**
 * A Map with a hard entry cap and least-recently-used eviction, for per-domain and per-client
 * state whose key space an attacker controls (random subdomains, spoofed clients). A JS Map
 * iterates in insertion order, so re-inserting on access keeps the oldest entry first.
 */
export class BoundedLruMap<K, V> {
  private readonly map = new Map<K, V>();
  evictions = 0;

  constructor(readonly maxEntries: number, private readonly onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.map.size;
  }

  /** The value for `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Like get, but without touching recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.maxEntries) this.evictOldest();
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Entries from least to most recently used. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  private evictOldest(): void {
    const oldest = this.map.keys().next();
    if (oldest.done) return;
    const value = this.map.get(oldest.value)!;
    this.map.delete(oldest.value);
    this.evictions++;
    this.onEvict?.(oldest.value, value);
  }
}
