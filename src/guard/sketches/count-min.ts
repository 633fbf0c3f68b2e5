/**
 * Count-min sketch (Cormode and Muthukrishnan 2005) with conservative update: frequency
 * estimates that never undercount and overcount by at most e/width × total with probability
 * 1 - e^-depth. Memory: width × depth × 4 bytes.
 */
import { murmur3 } from '../../util/hash.js';

export class CountMinSketch {
  readonly table: Uint32Array;
  private readonly rowHashes = new Uint32Array(0);
  total = 0;

  constructor(readonly width: number, readonly depth: number) {
    if (width < 1 || depth < 1) throw new RangeError('count-min width and depth must be positive');
    this.table = new Uint32Array(width * depth);
    this.rowHashes = new Uint32Array(depth);
  }

  /** Sizes a sketch for an overcount of at most `epsilon` × total with probability 1 - delta. */
  static forError(epsilon: number, delta: number): CountMinSketch {
    return new CountMinSketch(Math.ceil(Math.E / epsilon), Math.ceil(Math.log(1 / delta)));
  }

  /** Adds `count` to `key`; returns the new estimate. */
  add(key: string, count = 1): number {
    let min = Infinity;
    for (let r = 0; r < this.depth; r++) {
      const h = murmur3(key, r * 0x9e3779b9) % this.width;
      this.rowHashes[r] = h;
      const v = this.table[r * this.width + h];
      if (v < min) min = v;
    }
    const target = min + count;
    // Conservative update: raise only the cells below the new estimate.
    for (let r = 0; r < this.depth; r++) {
      const i = r * this.width + this.rowHashes[r];
      if (this.table[i] < target) this.table[i] = target;
    }
    this.total += count;
    return target;
  }

  estimate(key: string): number {
    let min = Infinity;
    for (let r = 0; r < this.depth; r++) {
      const v = this.table[r * this.width + (murmur3(key, r * 0x9e3779b9) % this.width)];
      if (v < min) min = v;
    }
    return min;
  }

  /** Multiplies every count by `factor` (0..1): exponential decay, so old traffic fades. */
  decay(factor: number): void {
    for (let i = 0; i < this.table.length; i++) this.table[i] = Math.floor(this.table[i] * factor);
    this.total = Math.floor(this.total * factor);
  }
}
