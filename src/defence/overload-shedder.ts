/**
 * Overload: when this data plane's event loop falls behind, the most expensive work is shed
 * first. A cache hit costs a lookup and a send; a miss costs an upstream query, a socket slot, a
 * guard summary and the answer's processing. So while overloaded, cache misses of the clients
 * sending far more misses than the others (over SHARE_FACTOR times the mean per client in the
 * current second, and over MIN_MISSES) are refused at once; cached answers and the other
 * clients' misses go on. Overload is "the event loop's p90 delay above `delay` in two quarter
 * seconds in a row" (monitorEventLoopDelay, sampled off the query path by a timer).
 *
 * Per miss: one FNV-1a pass over the client's address text and a count-min sketch update
 * (DEPTH × WIDTH counters, reset each second); a linear-counting bitmap estimates the number
 * of clients. No allocation. Bounds: DEPTH × WIDTH × 4 bytes + WIDTH / 8 bytes.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

const DEPTH = 4;
const WIDTH = 4096;
const SHARE_FACTOR = 4;
const MIN_MISSES = 20;
const SAMPLE_MS = 250;
const WINDOW_MS = 1000;

export interface OverloadSettings {
  enabled: boolean;
  /** Event-loop delay (p90 over SAMPLE_MS) above which this data plane counts as overloaded, ms. */
  delay: number;
}

export interface OverloadCounters {
  /** 1 while this data plane is overloaded (summed over I/O threads: the threads overloaded now). */
  overloaded: number;
  /** Cache misses refused while overloaded. */
  shed: number;
  /** Times this data plane entered overload. */
  episodes: number;
}

export class OverloadShedder {
  overloaded = false;
  private readonly sketch = new Uint32Array(DEPTH * WIDTH);
  private readonly seen = new Uint8Array(WIDTH / 8);
  private seenBits = 0;
  private misses = 0;
  private windowStart = 0;
  private shed = 0;
  private episodes = 0;
  private histogram: IntervalHistogram | null = null;
  private timer: NodeJS.Timeout | null = null;
  private behindSamples = 0;

  constructor(private settings: OverloadSettings) {}

  configure(settings: OverloadSettings): void {
    this.settings = settings;
    if (!settings.enabled) this.setOverloaded(false);
  }

  /** Starts watching the event loop (the data plane's own thread). */
  start(): void {
    if (this.timer !== null) return;
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => {
      const h = this.histogram!;
      const behind = this.settings.enabled && h.count > 0 && h.percentile(90) / 1e6 > this.settings.delay;
      h.reset();
      // Two samples behind in a row, not one: a GC pause or a busy neighbour on the machine is
      // not overload, and shedding a client's new names is not free for that client.
      this.behindSamples = behind ? this.behindSamples + 1 : 0;
      this.setOverloaded(this.behindSamples >= 2);
    }, SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.histogram?.disable();
    this.histogram = null;
  }

  /** Set by the watcher; tests set it directly. */
  setOverloaded(on: boolean): void {
    if (on && !this.overloaded) this.episodes++;
    this.overloaded = on;
  }

  counters(): OverloadCounters {
    return { overloaded: this.overloaded ? 1 : 0, shed: this.shed, episodes: this.episodes };
  }

  /** Counts a cache miss of `client`; true when it is to be refused now. */
  onMiss(client: string, nowMs: number): boolean {
    if (nowMs - this.windowStart >= WINDOW_MS) {
      this.sketch.fill(0);
      this.seen.fill(0);
      this.seenBits = 0;
      this.misses = 0;
      this.windowStart = nowMs;
    }
    let h = 0x811c9dc5;
    for (let i = 0; i < client.length; i++) h = Math.imul(h ^ client.charCodeAt(i), 0x01000193);
    h >>>= 0;
    const bit = h & (WIDTH - 1);
    if ((this.seen[bit >> 3] & (1 << (bit & 7))) === 0) {
      this.seen[bit >> 3] |= 1 << (bit & 7);
      this.seenBits++;
    }
    this.misses++;
    let count = 0xffffffff;
    for (let d = 0; d < DEPTH; d++) {
      // Independent rows from one hash: rotate and remix it per row.
      const x = Math.imul(h ^ (h >>> 15) ^ (d * 0x9e3779b9), 0x85ebca6b) >>> 0;
      const slot = d * WIDTH + (x & (WIDTH - 1));
      const c = ++this.sketch[slot];
      if (c < count) count = c;
    }
    if (!this.overloaded || count < MIN_MISSES) return false;
    // Linear counting: clients ≈ -W ln(empty share), good to a few thousand clients per second.
    const empty = WIDTH - this.seenBits;
    const clients = empty === 0 ? WIDTH : -WIDTH * Math.log(empty / WIDTH);
    if (count <= SHARE_FACTOR * (this.misses / Math.max(1, clients))) return false;
    this.shed++;
    return true;
  }
}
