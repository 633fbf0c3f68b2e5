/**
 * HyperLogLog (Flajolet et al. 2007) over 32-bit hashes: distinct-count estimates in
 * 2^precision bytes, standard error 1.04/sqrt(2^precision) (p = 12: 4 KiB, 1.6%).
 * Small cardinalities use linear counting, as the paper prescribes.
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

  estimate(): number {
    const m = this.m;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      sum += 2 ** -this.registers[i];
      if (this.registers[i] === 0) zeros++;
    }
    const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    // Large-range correction for 32-bit hashes.
    const two32 = 2 ** 32;
    if (raw > two32 / 30) return -two32 * Math.log(1 - raw / two32);
    return raw;
  }

  merge(other: HyperLogLog): void {
    if (other.m !== this.m) throw new RangeError('cannot merge HyperLogLogs of different precision');
    for (let i = 0; i < this.m; i++) if (other.registers[i] > this.registers[i]) this.registers[i] = other.registers[i];
  }

  clear(): void {
    this.registers.fill(0);
  }
}
