/**
 * Retraining off the event loop: at each refresh point the live server hands a copy of
 * the character model's counts to a worker thread, which rebuilds the cost table and sends it
 * back; the query path keeps using the previous table until then. One job at a time: a refresh
 * point reached while a job runs is skipped (counted), the next one catches up.
 *
 * `dnsward analyze` does not use this (it refreshes in line, which keeps it deterministic); so the
 * live path may switch to new costs a few milliseconds later than the analyser would.
 */
import { Worker } from 'node:worker_threads';
import type { CharacterModel } from './character-model.js';

export class BackgroundRelearner {
  private worker: Worker | null = null;
  private busy = false;
  private target: CharacterModel | null = null;
  jobs = 0;
  skipped = 0;
  errors = 0;

  constructor(private readonly onError: (error: unknown) => void) {}

  request(model: CharacterModel): void {
    if (this.busy) {
      this.skipped++;
      return;
    }
    this.worker ??= this.start();
    this.busy = true;
    this.target = model;
    const counts = model.counts.slice();
    const rowTotals = model.rowTotals.slice();
    this.worker.postMessage({ counts, rowTotals }, [counts.buffer, rowTotals.buffer]);
  }

  async stop(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }

  private start(): Worker {
    const worker = new Worker(new URL('./relearn-worker.js', import.meta.url));
    worker.on('message', (m: { costs: Float32Array }) => {
      this.busy = false;
      this.jobs++;
      this.target?.costs.set(m.costs);
    });
    worker.on('error', (error) => {
      this.busy = false;
      this.errors++;
      this.worker = null;
      this.onError(error);
    });
    worker.unref();
    return worker;
  }
}
