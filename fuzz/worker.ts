/**
 * Fuzzes one target in a worker thread, so that the runner can stop an input that never ends:
 * before each execution the input is copied into shared memory and a counter bumped; a counter
 * that stops moving tells the runner which input hangs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { corpusFiles } from './corpus.js';
import { mutated } from './mutate.js';
import { targets } from './targets/index.js';

export interface WorkerData {
  target: string;
  seconds: number;
  seed: number;
  /** [executions, input length] as Int32, then the current input's bytes. */
  shared: SharedArrayBuffer;
}

export type WorkerReport =
  | { kind: 'crash'; input: Uint8Array; error: string; key: string }
  | { kind: 'done'; executions: number; corpus: number };

const SHARED_HEADER = 8;
/** A crash like one already reported (same exception, same place) is not reported again. */
const MAX_CRASHES = 10;

const data = workerData as WorkerData;
const target = targets.find((t) => t.name === data.target);
if (!target || !parentPort) throw new Error(`no fuzz target ${data.target}`);
const port = parentPort;
const counters = new Int32Array(data.shared, 0, 2);
const current = new Uint8Array(data.shared, SHARED_HEADER);

const corpus = corpusFiles(target.name).map((f) => f.bytes.subarray(0, target.maxLength));
const arbitrary =
  corpus.length > 0
    ? fc.oneof({ weight: 4, arbitrary: mutated(corpus, target.maxLength) }, { weight: 1, arbitrary: target.arbitrary })
    : target.arbitrary;

function crashKey(err: unknown): string {
  if (!(err instanceof Error)) return `non-Error ${typeof err}`;
  const frame = (err.stack ?? '').split('\n').find((l) => l.trimStart().startsWith('at ')) ?? '';
  // Numbers in messages (offsets, counts) differ between inputs with the same cause.
  return `${err.name}: ${err.message.replace(/\d+/g, 'N')} ${frame.trim()}`;
}

const known = new Set<string>();
let executions = 0;
const execute = (input: Uint8Array): void => {
  const buf = Buffer.from(input.buffer, input.byteOffset, Math.min(input.length, target.maxLength));
  current.set(buf);
  counters[1] = buf.length;
  Atomics.add(counters, 0, 1);
  executions++;
  try {
    target.check(buf);
  } catch (err) {
    if (known.has(crashKey(err))) return;
    throw err;
  }
};

const deadline = Date.now() + data.seconds * 1000;
for (let round = 0; Date.now() < deadline && known.size < MAX_CRASHES; round++) {
  const details = fc.check(fc.property(arbitrary, execute), {
    numRuns: 2 ** 31 - 1,
    seed: data.seed + round,
    interruptAfterTimeLimit: Math.max(1, deadline - Date.now()),
    markInterruptAsFailure: false,
  });
  if (!details.failed || details.counterexample === null) break;
  const input = details.counterexample[0];
  const err = details.errorInstance;
  const key = crashKey(err);
  known.add(key);
  port.postMessage({
    kind: 'crash',
    input,
    key,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  } satisfies WorkerReport);
}
port.postMessage({ kind: 'done', executions, corpus: corpus.length } satisfies WorkerReport);
