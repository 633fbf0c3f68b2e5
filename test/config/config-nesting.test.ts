/**
 * Deeply nested YAML in a configuration: refused as a configuration error naming the limit,
 * before the YAML composer (which recurses per level) runs out of stack. Found by the config
 * fuzz target: at the stack limit, V8 compiling a regular expression aborts the whole process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText } from '../../src/config/load-config.js';

const nested = (depth: number) => `listen: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;

describe('configuration nesting', () => {
  it('refuses collections nested deeper than 64 levels, flow or block, with a ConfigError naming the source', () => {
    const block = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n';
    for (const text of [
      nested(5000),
      '{a: '.repeat(3000) + '1' + '}'.repeat(3000),
      '- '.repeat(3000) + 'a',
      block,
      nested(65),
    ]) {
      assert.throws(
        () => parseConfigText(text, 'deep.yaml'),
        (err: unknown) =>
          err instanceof ConfigError && /deep\.yaml: YAML: collections nested deeper than 64 levels/.test(err.message),
      );
    }
  });

  it('reads a document nested 64 levels deep', () => {
    assert.deepEqual(parseConfigText('a: [[[1]]]\n', 'ok.yaml'), { a: [[[1]]] });
    assert.doesNotThrow(() => parseConfigText(nested(63), 'ok.yaml'));
  });

  it('does not abort the process on an unclosed deep document followed by a closed one', () => {
    // The fuzzer's crash, replayed in a child process: before the limit, this aborted Node
    // ("RegExpCompiler Allocation failed - process out of memory").
    const module = new URL('../../src/config/load-config.js', import.meta.url).href;
    const code = `const { parseConfigText } = await import(${JSON.stringify(module)});
      for (const text of ['['.repeat(4000), '['.repeat(4000) + ']'.repeat(4000)]) {
        try { parseConfigText(text, 'deep.yaml'); } catch (err) { if (err.code !== 'DNSWARD_ERR_CONFIG') throw err; }
      }
      console.log('survived');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(
      child.status,
      0,
      `exit ${child.status} signal ${child.signal}: ${child.stderr
        .split('\n')
        .filter((l) => /FATAL|Error/.test(l))
        .join(' | ')}`,
    );
    assert.match(child.stdout, /survived/);
  });
});
