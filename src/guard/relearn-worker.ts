/** The worker thread of BackgroundRelearner: rebuilds a character model's cost table. */
import { parentPort } from 'node:worker_threads';
import { costsFrom } from './character-model.js';

parentPort!.on('message', (m: { counts: Float64Array; rowTotals: Float64Array }) => {
  const costs = new Float32Array(m.counts.length);
  costsFrom(m.counts, m.rowTotals, costs);
  parentPort!.postMessage({ costs }, [costs.buffer]);
});
