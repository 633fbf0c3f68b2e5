/** Atomics.waitAsync (in Node since 16), typed: TypeScript's lib has it from es2024 only. */
type WaitAsyncResult =
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

export function waitAsync(cells: Int32Array, index: number, value: number, timeoutMs: number): WaitAsyncResult {
  return (
    Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): WaitAsyncResult }
  ).waitAsync(cells, index, value, timeoutMs);
}
