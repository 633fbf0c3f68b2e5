/**
 * What a fuzz target is: a property over one input's bytes (text targets decode them), plus an
 * arbitrary of its own for fast-check to generate fresh inputs from, beside the corpus mutations.
 */
import type { Arbitrary } from 'fast-check';

export interface FuzzTarget {
  /** Also the corpus directory's name: fuzz/corpus/<name>/. */
  name: string;
  /** Throws when the property is broken: a forbidden exception, or a result that makes no sense. */
  check(input: Buffer): void;
  /** Fresh inputs, beside the mutated corpus entries. */
  arbitrary: Arbitrary<Uint8Array>;
  /** Inputs are cut to this length: parsers of big feeds are linear, long inputs only cost time. */
  maxLength: number;
}

/** A broken property (as opposed to an exception thrown by the code under test). */
export class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation';
}

export function expect(ok: boolean, what: string): void {
  if (!ok) throw new PropertyViolation(what);
}

export const isOffset = (o: unknown, end: number): boolean =>
  Number.isInteger(o) && (o as number) >= 0 && (o as number) <= end;
