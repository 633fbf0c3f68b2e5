/** Sends one A query through an UpstreamPool (sweeping its timeouts meanwhile) and waits for the outcome. */
import { parseQuery } from '../../src/dns/query-parser.js';
import type { UpstreamPool } from '../../src/upstream/upstream-pool.js';
import { encodeQuery } from './packets.js';

export function resolveThrough(
  pool: UpstreamPool,
  name: string,
): Promise<{ error: string | null; answer: Buffer | null }> {
  const request = encodeQuery(name, 'A', { id: 4321 });
  const parsed = parseQuery(request).query;
  const timer = setInterval(() => pool.sweep(performance.now()), 20);
  return new Promise((done) =>
    pool.resolve(request, parsed, null, (_c, error, answer) => {
      clearInterval(timer);
      done({ error, answer });
    }),
  );
}
