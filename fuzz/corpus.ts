/** The committed corpus: fuzz/corpus/<target>/, seed inputs and every crash ever found (kept as regressions). */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The source tree's corpus, also when running from dist/fuzz/. */
export const CORPUS_DIR = fileURLToPath(new URL('../../fuzz/corpus/', import.meta.url));

export function corpusFiles(target: string): { file: string; bytes: Buffer }[] {
  const dir = join(CORPUS_DIR, target);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((n) => ({ file: join(dir, n), bytes: readFileSync(join(dir, n)) }));
}

/** Writes a crashing input as crash-<hash> (same input, same file) and returns its path. */
export function saveCrash(target: string, input: Uint8Array): string {
  const dir = join(CORPUS_DIR, target);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `crash-${createHash('sha256').update(input).digest('hex').slice(0, 16)}`);
  writeFileSync(file, input);
  return file;
}
