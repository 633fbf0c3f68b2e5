/** The config loader: any text either validates or throws a ConfigError naming its source. */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { expect, type FuzzTarget, PropertyViolation } from './target.js';

const SOURCE = 'fuzz-input.yaml';
const KEYS = [
  'listen',
  'upstreams',
  'forwardZones',
  'cache',
  'tcp',
  'udp',
  'dataDir',
  'threads',
  'log',
  'shutdown',
  'defence',
  'guard',
  'policy',
  'queryLog',
  'dnstap',
];

const document = fc
  .dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
  .map((d) => new Uint8Array(Buffer.from(stringify(d))));

export const config: FuzzTarget = {
  name: 'config',
  maxLength: 8192,
  arbitrary: fc.oneof(
    document,
    fc.string({ maxLength: 300 }).map((s) => new Uint8Array(Buffer.from(s))),
  ),
  check(buf) {
    try {
      validateConfig(parseConfigText(buf.toString('utf8'), SOURCE), SOURCE);
    } catch (err) {
      if (err instanceof PropertyViolation) throw err;
      if (!(err instanceof ConfigError)) throw err;
      expect(
        err.source === SOURCE && err.message.includes(SOURCE) && err.problems.length > 0,
        `ConfigError without its source or problems: ${err.message}`,
      );
      // A stack overflow caught inside yaml and reported as a syntax error is a crash narrowly survived.
      expect(
        !/call stack/i.test(err.message),
        `stack overflow reported as a configuration problem: ${err.message.split('\n')[0]}`,
      );
    }
  },
};
