/** `dnsward floods` against a control socket whose backend reports one flood. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { ControlBackend } from '../../src/control/control-backend.js';
import { ControlServer } from '../../src/control/control-server.js';
import type { FloodState } from '../../src/flood/flood-detector.js';
import { runCli } from '../helpers/cli.js';

const FLOOD: FloodState = {
  domain: 'victim.test',
  since: 1_700_000_000,
  allowedRate: 20,
  normalNewNames: 0.5,
  normalFailures: 0.25,
  onsetNewNames: 2500,
  onsetFailures: 1800,
  onsetClients: 100,
  peakNewNames: 2600,
  lastNewNames: 2400,
  lastFailures: 20,
  newNames: 12_500,
};

describe('dnsward floods', () => {
  it('lists the flagged domains with their onset and allowed rate, and --json prints the reply', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-floods-'));
    const asked: string[] = [];
    const backend: ControlBackend = {
      control: (request) => {
        asked.push(request.cmd);
        return { enabled: true, mode: 'limit', tracked: 12, floods: [FLOOD] };
      },
    };
    const control = new ControlServer(dir, backend, pino({ level: 'silent' }));
    await control.start();
    try {
      const text = await runCli(['floods', '--data-dir', dir]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /Random-subdomain flood detection: limit, 12 domains tracked/);
      assert.match(text.stdout, /victim\.test {2}since 2023-11-14T22:13:20\.000Z, new names limited to 20\/s/);
      assert.match(
        text.stdout,
        /onset: 2500 new names\/s \(normal 0\.5\/s\), 1800 NXDOMAIN\/SERVFAIL\/s \(normal 0\.25\/s\), about 100 clients/,
      );
      const json = await runCli(['floods', '--data-dir', dir, '--json']);
      assert.deepEqual(JSON.parse(json.stdout).floods, [FLOOD]);
      assert.deepEqual(asked, ['floods', 'floods']);
    } finally {
      await control.stop();
    }
  });
});
