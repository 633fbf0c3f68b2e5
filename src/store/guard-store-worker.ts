/** The writer thread of GuardStore: writes snapshot rows so the event loop never waits on the disk. */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, type PartRows, writeSnapshot } from './guard-store.js';

const db = openStore((workerData as { path: string }).path);
parentPort!.on('message', (m: { name: string; rows: PartRows; savedAt: number }) => {
  const started = performance.now();
  try {
    writeSnapshot(db, m.name, m.rows, m.savedAt);
    parentPort!.postMessage({ ok: true, ms: performance.now() - started });
  } catch (error) {
    parentPort!.postMessage({ ok: false, ms: 0, error: (error as Error).message });
  }
});
