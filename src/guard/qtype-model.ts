/**
 * Tunnel Guard stage 1: how surprising a query type is on this network, in bits (-log2 of its
 * learned share, KT-smoothed over 64 pseudo-types, capped at 20 bits). Tunnels pick NULL, KEY,
 * TXT or private types for their payload room; where a network never asks for them, each such
 * query carries that surprise on top of its name's information.
 */
const SMOOTHING = 0.5;
const PSEUDO_TYPES = 64;
const MAX_BITS = 20;

export class QtypeModel {
  readonly counts = new Map<number, number>();
  total = 0;

  learn(qtype: number, weight = 1): void {
    this.counts.set(qtype, (this.counts.get(qtype) ?? 0) + weight);
    this.total += weight;
  }

  bits(qtype: number): number {
    const p = ((this.counts.get(qtype) ?? 0) + SMOOTHING) / (this.total + SMOOTHING * PSEUDO_TYPES);
    const bits = -Math.log2(p);
    return bits > MAX_BITS ? MAX_BITS : bits;
  }

  decay(factor: number): void {
    for (const [qtype, count] of this.counts) this.counts.set(qtype, count * factor);
    this.total *= factor;
  }
}
