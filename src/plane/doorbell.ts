/**
 * How I/O threads wake the brain without a message: a counter in a SharedArrayBuffer the brain
 * waits on (Atomics.waitAsync) when it has nothing to read. A writer rings only when the brain
 * said it is asleep, so a busy brain costs the query path one atomic load per summary.
 * The same buffer carries the brain's heartbeat: I/O threads and tests can tell a brain that
 * stopped consuming from one that is idle.
 */
import { waitAsync } from './wait-async.js';

/** Summaries waiting that wake a sleeping brain even when no query is held. */
export const WAKE_BACKLOG = 256;
const BELL = 0;
const SLEEPING = 1;
const HEARTBEAT = 2;

export class Doorbell {
  private readonly cells: Int32Array;

  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(16);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer);
  }

  /**
   * Writer side: after publishing a summary. Only a held query (`urgent`) or a backlog of
   * WAKE_BACKLOG summaries wakes a sleeping brain; otherwise it finds them at its next timed
   * look, within MAX_SLEEP_MS. (A wake per query cost a futex wake-up and two context switches
   * per query on a loaded machine: measured, it tripled the p99 of new names.)
   */
  ring(urgent: boolean, backlog: number): void {
    if (!urgent && backlog < WAKE_BACKLOG) return;
    if (Atomics.load(this.cells, SLEEPING) === 0) return;
    Atomics.store(this.cells, SLEEPING, 0);
    Atomics.add(this.cells, BELL, 1);
    Atomics.notify(this.cells, BELL);
  }

  /** Brain side: the bell's value before the last look at the rings. */
  get value(): number {
    return Atomics.load(this.cells, BELL);
  }

  /**
   * Brain side: sleeps until a writer rings after `seen` or `ms` pass. The caller looks at the
   * rings once more after calling this and before awaiting, so no summary waits for the timeout.
   */
  sleep(seen: number, ms: number): Promise<unknown> {
    Atomics.store(this.cells, SLEEPING, 1);
    const waited = waitAsync(this.cells, BELL, seen, ms);
    return waited.async ? waited.value : Promise.resolve(waited.value);
  }

  awake(): void {
    Atomics.store(this.cells, SLEEPING, 0);
  }

  beat(): void {
    Atomics.add(this.cells, HEARTBEAT, 1);
  }

  get heartbeat(): number {
    return Atomics.load(this.cells, HEARTBEAT);
  }
}
