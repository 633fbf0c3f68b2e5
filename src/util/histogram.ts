/** A fixed-bucket latency histogram (milliseconds), cheap enough for the query path. */
export const LATENCY_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export class LatencyHistogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[] = LATENCY_BUCKETS_MS) {
    this.counts = new Float64Array(buckets.length + 1);
  }

  observe(ms: number): void {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && ms > buckets[i]) i++;
    this.counts[i]++;
    this.sum += ms;
    this.count++;
  }
}
