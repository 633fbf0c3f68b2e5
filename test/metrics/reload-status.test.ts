/**
 * The reload metrics of the real executable: a refused file is seen in /metrics, and a good one
 * after it; a reload refused for a bad zone counts against that zone; local-zone answers are counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer } from '../helpers/cli.js';
import { dig } from '../helpers/dns-client.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

describe('reload status in /metrics', () => {
  let unbound: UnboundServer;
  let server: CliServer;
  let metricsPort: number;
  let dnsPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-reload-metrics-'));
  const file = join(dir, 'dnsward.yaml');

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: [] });
    metricsPort = await freePort();
    dnsPort = await freePort();
    writeFileSync(
      file,
      `listen: ["127.0.0.1:${dnsPort}"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nmetrics: { listen: "127.0.0.1:${metricsPort}" }\ndataDir: ${join(dir, 'var')}\n`,
    );
    server = CliServer.start(['-c', file]);
    await server.waitForLog('dnsward started');
  });

  after(async () => {
    await server?.stop();
    await unbound?.stop();
  });

  const sample = async (line: RegExp): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const m = line.exec(text);
    assert.ok(m, `${line} in /metrics`);
    return Number(m[1]);
  };

  it('counts a refused reload, says the last one failed, then succeeded', async () => {
    assert.equal(await sample(/^dnsward_config_last_reload_successful (\S+)$/m), 1);
    const good = (await import('node:fs')).readFileSync(file, 'utf8');
    writeFileSync(file, `${good}cache: { maxBytes: lots }\n`);
    server.child.kill('SIGHUP');
    await server.waitForLog('reload refused');
    assert.equal(await sample(/^dnsward_config_last_reload_successful (\S+)$/m), 0);
    assert.equal(await sample(/^dnsward_config_reloads_total\{result="failure"\} (\S+)$/m), 1);
    writeFileSync(file, good);
    server.child.kill('SIGHUP');
    await server.waitForLog('configuration reloaded');
    assert.equal(await sample(/^dnsward_config_last_reload_successful (\S+)$/m), 1);
    assert.equal(await sample(/^dnsward_config_reloads_total\{result="success"\} (\S+)$/m), 1);
    assert.ok((await sample(/^dnsward_config_last_reload_success_timestamp_seconds (\S+)$/m)) > Date.now() / 1000 - 60);
  });

  it('a reload refused for a bad zone counts against that zone; answers from zones are counted by verdict', async () => {
    const { readFileSync } = await import('node:fs');
    const base = readFileSync(file, 'utf8');
    const withZone = (record: string) =>
      `${base}zones:\n  - name: lab.example\n    records: ["@ SOA ns hostmaster 1 3600 600 86400 60", "${record}"]\n`;
    writeFileSync(file, withZone('nrf A 192.0.2.1'));
    server.child.kill('SIGHUP');
    await server.waitForLog('configuration reloaded', 2);
    assert.equal((await dig('127.0.0.1', dnsPort, ['nrf.lab.example', 'A'])).answers.length, 1);
    assert.equal((await dig('127.0.0.1', dnsPort, ['nothing.lab.example', 'A'])).status, 'NXDOMAIN');
    assert.equal(await sample(/^dnsward_zone_answers_total\{verdict="answer"\} (\S+)$/m), 1);
    assert.equal(await sample(/^dnsward_zone_answers_total\{verdict="nxdomain"\} (\S+)$/m), 1);
    writeFileSync(file, withZone('nrf A 192.0.2.999'));
    server.child.kill('SIGHUP');
    await server.waitForLog('reload refused', 2);
    assert.equal(await sample(/^dnsward_zone_reloads_total\{zone="lab\.example",result="refused"\} (\S+)$/m), 1);
    // The running zone stays.
    assert.match((await dig('127.0.0.1', dnsPort, ['nrf.lab.example', 'A'])).answers[0] ?? '', /192\.0\.2\.1$/);
  });
});
