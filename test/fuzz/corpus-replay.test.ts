/**
 * Replays the committed fuzz corpus (fuzz/corpus/<target>/: seeds and every crash found, kept as
 * regressions) through each target's property, without mutation: `npm run fuzz` searches, this
 * keeps what it found fixed.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { corpusFiles } from '../../fuzz/corpus.js';
import { targets } from '../../fuzz/targets/index.js';

describe('fuzz corpus replay', () => {
  for (const target of targets) {
    it(`${target.name}: every corpus input keeps the property`, () => {
      const files = corpusFiles(target.name);
      assert.ok(files.length > 0, `fuzz/corpus/${target.name}/ has no inputs`);
      for (const { file, bytes } of files) {
        try {
          target.check(bytes.subarray(0, target.maxLength));
        } catch (err) {
          assert.fail(`${target.name}/${basename(file)}: ${(err as Error).stack ?? String(err)}`);
        }
      }
    });
  }
});
