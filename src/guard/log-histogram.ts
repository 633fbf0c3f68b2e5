/**
 * A decaying histogram on a log scale, for the learned normal (stage 3): what the network's
 * values usually look like, kept in fixed memory (quarter-octave bins from 2^-4 to 2^24, 113
 * float64s) so quantiles and tail probabilities cost a scan of a hundred bins.
 */
const MIN_EXP = -4;
const MAX_EXP = 24;
const BINS_PER_OCTAVE = 4;
const BINS = (MAX_EXP - MIN_EXP) * BINS_PER_OCTAVE + 1;

export class LogHistogram {
  readonly bins = new Float64Array(BINS);
  total = 0;

  add(value: number, weight = 1): void {
    this.bins[binOf(value)] += weight;
    this.total += weight;
  }

  /** The value below which a share `q` of the weight lies (upper edge of its bin), or `fallback` when empty. */
  quantile(q: number, fallback: number): number {
    if (this.total <= 0) return fallback;
    const target = q * this.total;
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.bins[i];
      if (seen >= target) return upperEdge(i);
    }
    return upperEdge(BINS - 1);
  }

  /** Share of the weight at or below `value`'s bin: 0.5 for a median value, 1 beyond anything seen. */
  cdf(value: number): number {
    if (this.total <= 0) return 0;
    const bin = binOf(value);
    let seen = 0;
    for (let i = 0; i <= bin; i++) seen += this.bins[i];
    return seen / this.total;
  }

  decay(factor: number): void {
    for (let i = 0; i < BINS; i++) this.bins[i] *= factor;
    this.total *= factor;
  }

  load(bins: ArrayLike<number>): void {
    if (bins.length !== BINS) throw new RangeError(`log histogram needs ${BINS} bins`);
    this.total = 0;
    for (let i = 0; i < BINS; i++) {
      this.bins[i] = bins[i];
      this.total += bins[i];
    }
  }
}

function binOf(value: number): number {
  if (!(value > 0)) return 0;
  const bin = Math.ceil((Math.log2(value) - MIN_EXP) * BINS_PER_OCTAVE);
  return bin < 0 ? 0 : bin >= BINS ? BINS - 1 : bin;
}

function upperEdge(bin: number): number {
  return 2 ** (MIN_EXP + bin / BINS_PER_OCTAVE);
}
