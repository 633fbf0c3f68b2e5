/** Configuration text in tests: loaded as `dnsward serve` loads a file, or its problems. */
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/config-error.js';
import type { Config } from '../../src/config/schema.js';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';

export const loadConfigText = (yaml: string): Config => validateConfig(parseConfigText(yaml, 'test'), 'test');

/** The problems a ConfigError lists for `yaml`; fails the test when it loads. */
export function configProblems(yaml: string): string[] {
  try {
    loadConfigText(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return assert.fail('expected a configuration error');
}
