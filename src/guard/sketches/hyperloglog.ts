/**
 * HyperLogLog (Flajolet et al. 2007) over 32-bit hashes: distinct-count estimates in
 * 2^precision bytes, standard error 1.04/sqrt(2^precision) (p = 12: 4 KiB, 1.6%).
 */
export class HyperLogLog {
  readonly registers: Uint8Array;
  private readonly p: number;
  private readonly m: number;

  constructor(precision = 12) {
    if (precision < 4 || precision > 16) throw new RangeError('HyperLogLog precision must be 4..16');
    this.p = precision;
    this.m = 1 << precision;
    this.registers = new Uint8Array(this.m);
  }

  /** Adds an element by its 32-bit hash; returns true when a register changed (likely new). */
  add(hash: number): boolean {
    const index = hash >>> (32 - this.p);
    const rest = (hash << this.p) >>> 0;
    // Rank: position of the first 1-bit in the remaining 32-p bits (1-based).
    const rank = rest === 0 ? 32 - this.p + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]) {
      this.registers[index] = rank;
      return true;
    }
    return false;
  }

  /**
   * Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
   * sketches", 2017, algorithm 6): unbiased over the whole range without the empirical bias
   * tables of HLL++, where the classic raw estimate is biased for cardinalities of a few × 2^p.
   */
  estimate(): number {
    const m = this.m;
    const q = 32 - this.p;
    const histogram = new Float64Array(q + 2);
    for (let i = 0; i < m; i++) histogram[this.registers[i]]++;
    let z = m * tau(1 - histogram[q + 1] / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + histogram[k]);
    z += m * sigma(histogram[0] / m);
    return (m * m) / (2 * Math.LN2) / z;
  }

  merge(other: HyperLogLog): void {
    if (other.m !== this.m) throw new RangeError('cannot merge HyperLogLogs of different precision');
    for (let i = 0; i < this.m; i++) if (other.registers[i] > this.registers[i]) this.registers[i] = other.registers[i];
  }

  clear(): void {
    this.registers.fill(0);
  }
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}
