/**
 * Tunnel Guard stage 1: how much information a subdomain carries, in bits, under a character
 * model learned from this network's own names (not from English). An order-1 Markov model over
 * bytes with a label-start state, Krichevsky–Trofimov (add ½) smoothing, and decay so the model
 * follows the network.
 *
 * The query path reads a table of per-transition costs (bits), rebuilt by `refresh()` from the
 * counts: a lookup per byte instead of two logarithms. Learning between refreshes only changes
 * the counts, so the costs a query sees change at refresh points the caller chooses, which keeps
 * results deterministic. Memory is fixed: 257 × 256 float64 counts plus float32 costs (790 KiB).
 */
const ALPHABET = 256;
const START = 256;
const ROWS = 257;
const SMOOTHING = 0.5;

export class CharacterModel {
  readonly counts = new Float64Array(ROWS * ALPHABET);
  readonly rowTotals = new Float64Array(ROWS);
  /** Bits per transition as of the last refresh; snapshots keep them so a restore resumes exactly. */
  readonly costs = new Float32Array(ROWS * ALPHABET);
  /** Bytes learned (after decay), to tell an empty model from a trained one. */
  observed = 0;

  constructor() {
    this.refresh();
  }

  /** Learns one label (raw bytes as latin1 chars). Takes effect at the next `refresh()`. */
  learn(label: string, weight = 1): void {
    let prev = START;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i) & 0xff;
      this.counts[prev * ALPHABET + c] += weight;
      this.rowTotals[prev] += weight;
      prev = c;
    }
    this.observed += label.length * weight;
  }

  /** Information content of `label` under the model as of the last refresh: -Σ log2 P(c | previous byte). */
  bits(label: string): number {
    let prev = START;
    let bits = 0;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i) & 0xff;
      bits += this.costs[prev * ALPHABET + c];
      prev = c;
    }
    return bits;
  }

  /** Rebuilds the cost table from the counts (65,792 logarithms, about a millisecond). */
  refresh(): void {
    costsFrom(this.counts, this.rowTotals, this.costs);
  }

  /** Multiplies all counts by `factor` (0..1), so old traffic weighs less than new. */
  decay(factor: number): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] *= factor;
    for (let i = 0; i < ROWS; i++) this.rowTotals[i] *= factor;
    this.observed *= factor;
  }

  /** Adds another model's counts, weighted (a shipped prior, or a peer's model). */
  absorb(counts: ArrayLike<number>, weight = 1): void {
    if (counts.length !== this.counts.length)
      throw new RangeError(`character model counts must have ${this.counts.length} entries`);
    for (let row = 0; row < ROWS; row++) {
      let total = 0;
      for (let c = 0; c < ALPHABET; c++) {
        const v = counts[row * ALPHABET + c] * weight;
        this.counts[row * ALPHABET + c] += v;
        total += v;
      }
      this.rowTotals[row] += total;
      if (row !== START) this.observed += total;
    }
  }
}

/** The cost table for given counts: pure, so a worker thread can compute it (background-relearner.ts). */
export function costsFrom(counts: Float64Array, rowTotals: Float64Array, out: Float32Array): void {
  for (let row = 0; row < ROWS; row++) {
    const denominator = Math.log2(rowTotals[row] + SMOOTHING * ALPHABET);
    const base = row * ALPHABET;
    for (let c = 0; c < ALPHABET; c++) out[base + c] = denominator - Math.log2(counts[base + c] + SMOOTHING);
  }
}
