/**
 * Zones reload with the configuration: a changed zone is served at once, on the inline data
 * plane and on I/O threads (where the zone crosses by structured clone); a bad zone file is a
 * configuration error, so the reload is refused and the running zone stays.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { dig } from '../helpers/dns-client.js';
import { startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const zone = (address: string) => `$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\nnrf A ${address}\n`;

for (const threads of [0, 1]) {
  test(`a changed zone is served after reload; a bad one is refused and the old one stays (threads: ${threads})`, async () => {
    const unbound = await UnboundServer.start({ zones: [], records: [] });
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-zone-reload-'));
    const file = join(dir, '5gc.zone');
    writeFileSync(file, zone('192.0.2.1'));
    const text = (port: number | string) =>
      `listen: ['127.0.0.1:${port}']\nupstreams: { servers: ['127.0.0.1:${unbound.port}'] }\nthreads: ${threads}\nzones:\n  - name: 5gc.example\n    file: ${file}\n`;
    const dw = await startDnsward(text('@PORT@'));
    try {
      const first = await dig('127.0.0.1', dw.port, ['nrf.5gc.example', 'A']);
      assert.deepEqual(
        [first.status, first.flags.includes('aa'), first.answers.map((a) => a.split(/\s+/).pop())],
        ['NOERROR', true, ['192.0.2.1']],
      );

      writeFileSync(file, zone('192.0.2.2'));
      await dw.server.reload(
        validateConfig(
          parseConfigText(
            `${text(dw.port)}dataDir: ${dw.dataDir}\nconsole: { listen: null }\nlog: { level: silent }\n`,
            'reload',
          ),
          'reload',
        ),
      );
      const second = await dig('127.0.0.1', dw.port, ['nrf.5gc.example', 'A']);
      assert.deepEqual(
        second.answers.map((a) => a.split(/\s+/).pop()),
        ['192.0.2.2'],
      );

      writeFileSync(file, `${zone('192.0.2.3')}broken A 192.0.2.999\n`);
      assert.throws(
        () => validateConfig(parseConfigText(text(dw.port), 'reload'), 'reload'),
        (err: unknown) =>
          err instanceof ConfigError &&
          /5gc\.zone line 4: A: "192\.0\.2\.999" is not an IPv4 address/.test(err.message),
      );
      const third = await dig('127.0.0.1', dw.port, ['nrf.5gc.example', 'A']);
      assert.deepEqual(
        third.answers.map((a) => a.split(/\s+/).pop()),
        ['192.0.2.2'],
      );
    } finally {
      await dw.stop();
      await unbound.stop();
    }
  });
}
