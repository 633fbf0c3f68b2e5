/**
 * Zone files are watched: an edited file is served without a SIGHUP (inline and on I/O
 * threads), a broken one is refused and the running zone stays, and
 * dnsward_zone_reloads_total{zone,result} counts both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { dig } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const zone = (address: string) => `$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\nnrf A ${address}\n`;

async function address(port: number): Promise<string | undefined> {
  const r = await dig('127.0.0.1', port, ['nrf.5gc.example', 'A']);
  return r.answers[0]?.split(/\s+/).pop();
}

/** Asks until the answer is `want`, at most 50 times 100 ms apart; returns the last answer. */
async function until(port: number, want: string): Promise<string | undefined> {
  let last: string | undefined;
  for (let i = 0; i < 50; i++) {
    last = await address(port);
    if (last === want) return last;
    await sleep(100);
  }
  return last;
}

async function reloads(dw: RunningDnsward, result: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${dw.metricsServer!.boundPort}/metrics`)).text();
  const m = new RegExp(`^dnsward_zone_reloads_total\\{zone="5gc\\.example",result="${result}"\\} (\\d+)$`, 'm').exec(
    text,
  );
  return m === null ? 0 : Number(m[1]);
}

/** Scrapes until the counter reaches `want`, at most 50 times 100 ms apart. */
async function reloadsReach(dw: RunningDnsward, result: string, want: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < 50; i++) {
    last = await reloads(dw, result);
    if (last >= want) return last;
    await sleep(100);
  }
  return last;
}

for (const threads of [0, 1]) {
  test(`an edited zone file is served without a reload; a broken one is refused and counted, the old zone stays (threads: ${threads})`, async () => {
    const unbound = await UnboundServer.start({ zones: [], records: [] });
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-zone-watch-'));
    const file = join(dir, '5gc.zone');
    writeFileSync(file, zone('192.0.2.1'));
    const dw = await startDnsward(`
listen: ['127.0.0.1:@PORT@']
upstreams: { servers: ['127.0.0.1:${unbound.port}'] }
threads: ${threads}
metrics: { listen: '127.0.0.1:0' }
zones:
  - name: 5gc.example
    file: ${file}
`);
    try {
      assert.equal(await address(dw.port), '192.0.2.1');

      // Written in place.
      writeFileSync(file, zone('192.0.2.2'));
      assert.equal(await until(dw.port, '192.0.2.2'), '192.0.2.2');
      assert.equal(await reloadsReach(dw, 'ok', 1), 1);

      // Replaced by rename, as editors and deploy tools do.
      writeFileSync(join(dir, '5gc.zone.tmp'), zone('192.0.2.3'));
      renameSync(join(dir, '5gc.zone.tmp'), file);
      assert.equal(await until(dw.port, '192.0.2.3'), '192.0.2.3');
      assert.equal(await reloadsReach(dw, 'ok', 2), 2);

      // Broken: refused and counted; the running zone answers as before.
      writeFileSync(file, `${zone('192.0.2.4')}broken A 192.0.2.999\n`);
      assert.equal(await reloadsReach(dw, 'refused', 1), 1);
      assert.equal(await address(dw.port), '192.0.2.3');
      assert.equal(await reloads(dw, 'ok'), 2);

      // Fixed: served again.
      writeFileSync(file, zone('192.0.2.5'));
      assert.equal(await until(dw.port, '192.0.2.5'), '192.0.2.5');
    } finally {
      await dw.stop();
      await unbound.stop();
    }
  });
}
