/**
 * Tunnel Guard stage 1: how much information a subdomain carries, in bits, under a character
 * model learned from this network's own names (not from English). An order-1 Markov model over
 * bytes with a label-start state, Krichevsky–Trofimov (add ½) smoothing, and decay so the model
 * follows the network. Memory is fixed: 257 × 256 float64 counts (526 KiB).
 */
const ALPHABET = 256;
const START = 256;
const ROWS = 257;
const SMOOTHING = 0.5;

export class CharacterModel {
  readonly counts = new Float64Array(ROWS * ALPHABET);
  readonly rowTotals = new Float64Array(ROWS);
  /** Bytes learned (after decay), to tell an empty model from a trained one. */
  observed = 0;

  /** Learns one label (raw bytes as latin1 chars). */
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

  /** Information content of `label` under the model: -Σ log2 P(c | previous byte). */
  bits(label: string): number {
    let prev = START;
    let bits = 0;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i) & 0xff;
      const p = (this.counts[prev * ALPHABET + c] + SMOOTHING) / (this.rowTotals[prev] + SMOOTHING * ALPHABET);
      bits -= Math.log2(p);
      prev = c;
    }
    return bits;
  }

  /** Multiplies all counts by `factor` (0..1), so old traffic weighs less than new. */
  decay(factor: number): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] *= factor;
    for (let i = 0; i < ROWS; i++) this.rowTotals[i] *= factor;
    this.observed *= factor;
  }
}
