/**
 * The per-prefix table a limiter keeps (client-rate-limiter.ts, response-rate-limiter.ts): its
 * numbers in one typed array, `fieldsPerSlot` a slot, the two generations of slots that say
 * where each key's numbers are, and the prefix keys with the exempt ranges. The table is rebuilt
 * when the prefix lengths or the cap change, since the old keys no longer mean the same clients;
 * evictions counted so far survive a rebuild (a counter must not go back).
 */
import { ClientPrefixKeys } from './client-prefix-keys.js';
import { TwoGenerationSlots } from './two-generation-slots.js';

export interface PrefixTableShape {
  ipv4Prefix: number;
  ipv6Prefix: number;
  exempt: readonly string[];
  maxTracked: number;
}

export class PrefixTable<K> {
  state = new Float64Array(0);
  slots = new TwoGenerationSlots<K>(0);
  keys!: ClientPrefixKeys;
  private shape: PrefixTableShape | undefined;
  private evictedBefore = 0;

  constructor(private readonly fieldsPerSlot: number) {}

  configure(shape: PrefixTableShape): void {
    if (!Number.isInteger(shape.maxTracked) || shape.maxTracked < 2)
      throw new RangeError('maxTracked must be an integer of at least 2');
    const old = this.shape;
    if (
      old === undefined ||
      old.ipv4Prefix !== shape.ipv4Prefix ||
      old.ipv6Prefix !== shape.ipv6Prefix ||
      old.maxTracked !== shape.maxTracked
    ) {
      const half = shape.maxTracked >>> 1;
      this.state = new Float64Array(2 * this.fieldsPerSlot * half);
      this.evictedBefore += this.slots.evictions;
      this.slots = new TwoGenerationSlots(half);
    }
    // Cached keys depend on the prefix lengths and on the exempt ranges.
    this.keys = new ClientPrefixKeys(shape.ipv4Prefix, shape.ipv6Prefix, shape.exempt);
    this.shape = shape;
  }

  /** Keys forgotten with their generation, across rebuilds. */
  get evictions(): number {
    return this.evictedBefore + this.slots.evictions;
  }
}
