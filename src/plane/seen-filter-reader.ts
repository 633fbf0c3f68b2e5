/**
 * Tunnel Guard's plain-repeat check on an I/O thread: the brain keeps its seen-name and
 * seen-user Bloom filters (src/guard/seen-names.ts) in SharedArrayBuffers, and an I/O thread
 * probes them in place. A query for a name seen before, by a client that asked it before, is
 * what the brain would settle as a plain repeat (its domain is not blocked: the block table was
 * checked first), so it need not reach the brain at all; most queries of a network are such
 * repeats. The same hashes as SeenNames, over the wire name in the request, no allocation.
 *
 * A probe that races the brain's rotation of a filter may miss: the query then goes to the
 * brain, which is the safe way to be wrong.
 */
import { fmix32, SHARED_HEADER } from '../guard/seen-names.js';
import { murmur3, murmur3Folded } from '../util/hash.js';

const HASHES = 3;

export class SeenFilterReader {
  private readonly names: Uint8Array[];
  private readonly users: Uint8Array[];
  private readonly mask: number;
  private lastClient = '';
  private clientA1 = murmur3('', 0x5eed);
  private clientA2 = murmur3('', 0x9e37);

  constructor(names: SharedArrayBuffer, users: SharedArrayBuffer, bits = 24) {
    const n = 1 << (bits - 3);
    this.names = [new Uint8Array(names, SHARED_HEADER, n), new Uint8Array(names, SHARED_HEADER + n, n)];
    this.users = [new Uint8Array(users, SHARED_HEADER, n), new Uint8Array(users, SHARED_HEADER + n, n)];
    this.mask = (1 << bits) - 1;
  }

  /** Whether `client` asked the wire name request[start, end) before (and so did the network). */
  isPlainRepeat(request: Uint8Array, start: number, end: number, client: string): boolean {
    const h1 = murmur3Folded(request, start, end, 0x5eed);
    const h2 = murmur3Folded(request, start, end, 0x9e37) | 1;
    if (!this.holds(this.names, h1, h2)) return false;
    if (client !== this.lastClient) {
      this.lastClient = client;
      this.clientA1 = murmur3(client, 0x5eed);
      this.clientA2 = murmur3(client, 0x9e37);
    }
    const p1 = fmix32(h1 ^ Math.imul(this.clientA1, 0x9e3779b1));
    const p2 = fmix32(h2 ^ Math.imul(this.clientA2, 0x85ebca6b)) | 1;
    return this.holds(this.users, p1, p2);
  }

  /** In either half of the rotating pair of filters. */
  private holds(halves: Uint8Array[], h1: number, h2: number): boolean {
    for (const half of halves) {
      let all = true;
      for (let i = 0; i < HASHES && all; i++) {
        const bit = (h1 + Math.imul(i, h2)) & this.mask;
        if ((half[bit >>> 3] & (1 << (bit & 7))) === 0) all = false;
      }
      if (all) return true;
    }
    return false;
  }
}
