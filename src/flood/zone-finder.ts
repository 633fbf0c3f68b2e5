/**
 * Which suffix of a query name is its registered domain (the Public Suffix List's answer, as
 * Tunnel Guard's anatomy gives it), on the data plane, without a PSL walk per query: the
 * answer (how many labels the registered domain has) is remembered per parent name (the name
 * without its first label), in a direct-mapped table keyed by the parent's 64-bit hash. A
 * random-subdomain flood's names all share their parent, so a flood costs one PSL walk. The
 * caveat is anatomy's own: a PSL rule naming one specific first label under a remembered parent
 * would be split as its siblings were.
 *
 * Bounds: SLOTS entries (3 words each, 48 KiB); a colliding parent replaces the entry.
 */
import { nameLabels } from '../dns/name.js';
import { anatomize } from '../guard/name-anatomy.js';

const SLOTS = 4096;

export class ZoneFinder {
  private readonly keys = new Int32Array(SLOTS * 2);
  private readonly labels = new Uint8Array(SLOTS);
  /** PSL walks (a parent not remembered). */
  walks = 0;

  /**
   * The index (into `offsets`, as suffixOffsets gives them, with `hi`/`lo` their hashes) of the
   * registered domain's suffix of the `n`-label name in `buf`.
   */
  registeredIndex(buf: Uint8Array, nameStart: number, n: number, hi: Int32Array, lo: Int32Array): number {
    if (n <= 1) return 0;
    const slot = (hi[1] ^ lo[1]) & (SLOTS - 1);
    let labels = this.labels[slot];
    if (labels === 0 || this.keys[slot * 2] !== hi[1] || this.keys[slot * 2 + 1] !== lo[1]) {
      labels = this.walk(buf, nameStart);
      this.keys[slot * 2] = hi[1];
      this.keys[slot * 2 + 1] = lo[1];
      this.labels[slot] = labels;
    }
    return Math.max(0, n - labels);
  }

  private walk(buf: Uint8Array, nameStart: number): number {
    this.walks++;
    const lower = nameLabels(buf, nameStart).map(lowerAscii);
    const registered = anatomize(lower).registeredDomain;
    let count = 1;
    for (let i = 0; i < registered.length; i++) if (registered.charCodeAt(i) === 0x2e) count++;
    return Math.min(255, Math.max(1, count));
  }
}

/** DNS names compare case-insensitively in ASCII only (RFC 4343). */
function lowerAscii(label: string): string {
  return label.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
