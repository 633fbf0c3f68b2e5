/**
 * `npm run fuzz`: each target in turn for FUZZ_SECONDS (default 60), in a worker thread watched
 * for inputs that run longer than FUZZ_TIMEOUT_MS (default 10000). A crash (a forbidden
 * exception, a broken property, a hang) is written to fuzz/corpus/<target>/crash-<hash> and fails
 * the run. Arguments name targets to run (default: all). FUZZ_SEED makes a run repeatable.
 * Each target runs in a child process of its own: a fatal V8 error (which no worker thread
 * survives) then fails that target, with the seed to replay it, and the others still run.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { corpusFiles, saveCrash } from './corpus.js';
import { targets } from './targets/index.js';
import type { WorkerData, WorkerReport } from './worker.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const timeoutMs = Number(process.env.FUZZ_TIMEOUT_MS ?? 10_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const child = process.argv[2] === '--child';
const wanted = process.argv.slice(child ? 3 : 2);
const chosen = wanted.length === 0 ? targets : targets.filter((t) => wanted.includes(t.name));
if (!(seconds > 0) || !(timeoutMs > 0) || chosen.length !== (wanted.length || targets.length)) {
  console.error(
    `usage: [FUZZ_SECONDS=60] [FUZZ_TIMEOUT_MS=10000] [FUZZ_SEED=n] npm run fuzz [-- target...]\ntargets: ${targets.map((t) => t.name).join(' ')}`,
  );
  process.exit(2);
}

interface Outcome {
  target: string;
  executions: number;
  seconds: number;
  crashes: string[];
  corpus: number;
}

function fuzzOne(name: string, maxLength: number): Promise<Outcome> {
  const shared = new SharedArrayBuffer(8 + maxLength);
  const counters = new Int32Array(shared, 0, 2);
  const started = Date.now();
  const outcome: Outcome = { target: name, executions: 0, seconds: 0, crashes: [], corpus: corpusFiles(name).length };
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: { target: name, seconds, seed, shared } satisfies WorkerData,
  });
  const lastInput = () => new Uint8Array(shared, 8, counters[1]).slice();
  const crash = (input: Uint8Array, what: string) => {
    const file = saveCrash(name, input);
    outcome.crashes.push(file);
    console.log(
      `  CRASH ${name}: ${what.split('\n').slice(0, 4).join('\n    ')}\n    input (${input.length} bytes): ${file}`,
    );
  };
  return new Promise((resolve) => {
    let seen = -1;
    let still = Date.now();
    const finish = () => {
      clearInterval(watch);
      outcome.seconds = (Date.now() - started) / 1000;
      if (outcome.executions === 0) outcome.executions = Atomics.load(counters, 0);
      resolve(outcome);
    };
    const watch = setInterval(() => {
      const n = Atomics.load(counters, 0);
      if (n !== seen) {
        seen = n;
        still = Date.now();
      } else if (Date.now() - still > timeoutMs) {
        crash(lastInput(), `timeout: one input ran over ${timeoutMs} ms`);
        outcome.executions = n;
        void worker.terminate();
      }
    }, 100);
    worker.on('message', (m: WorkerReport) => {
      if (m.kind === 'crash') crash(m.input, m.error);
      else {
        outcome.executions = m.executions;
      }
    });
    // An exception out of the worker itself (out of memory, a stack overflow fast-check did not catch).
    worker.on('error', (err) => crash(lastInput(), `worker died: ${err.stack ?? err.message}`));
    worker.on('exit', finish);
  });
}

/** Runs one target in a child process; its outcome comes back over IPC, or the process died. */
function inChildProcess(name: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let outcome: Outcome | undefined;
    // yaml warns (process.emitWarning) about odd keys in fuzzed documents: noise, thousands of lines.
    const proc = fork(fileURLToPath(import.meta.url), ['--child', name], {
      env: { ...process.env, FUZZ_SEED: String(seed) },
      execArgv: ['--no-warnings'],
    });
    proc.on('message', (m) => {
      outcome = m as Outcome;
    });
    proc.on('exit', (code, signal) => {
      if (outcome) return resolve(outcome);
      const what = `the fuzzing process died (${signal ?? `exit ${code}`}); its input is lost, replay with FUZZ_SEED=${seed} npm run fuzz -- ${name}`;
      console.log(`  CRASH ${name}: ${what}`);
      resolve({ target: name, executions: 0, seconds: 0, crashes: [what], corpus: corpusFiles(name).length });
    });
  });
}

if (child) {
  process.send!(await fuzzOne(chosen[0].name, chosen[0].maxLength));
  process.disconnect();
} else {
  console.log(
    `fuzzing ${chosen.length} targets for ${seconds} s each (FUZZ_SEED=${seed}, per-input timeout ${timeoutMs} ms)`,
  );
  const outcomes: Outcome[] = [];
  for (const t of chosen) {
    const o = await inChildProcess(t.name);
    outcomes.push(o);
    console.log(
      `${o.target.padEnd(18)} ${String(o.executions).padStart(10)} executions  ${String(Math.round(o.executions / (o.seconds || 1))).padStart(7)}/s  corpus ${o.corpus}  ${o.crashes.length === 0 ? 'ok' : `${o.crashes.length} CRASH(ES)`}`,
    );
  }
  const total = outcomes.reduce((s, o) => s + o.executions, 0);
  const crashes = outcomes.flatMap((o) => o.crashes);
  console.log(`total ${total} executions, ${crashes.length} crashes`);
  if (crashes.length > 0) process.exitCode = 1;
}
