/**
 * Unpredictable 16-bit query IDs toward upstreams (RFC 5452 §9.2), drawn from the CSPRNG in
 * batches so the miss path does not call into crypto per query.
 */
import { randomFillSync } from 'node:crypto';

const pool = new Uint16Array(4096);
let next = pool.length;

export function randomQueryId(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++];
}
