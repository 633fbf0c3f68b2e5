/**
 * Descriptors shared out under the process's limit: with idle connections held open to the
 * console and to DNS over TCP, from many addresses, the caps cut to fit the limit keep
 * descriptors free for DNS's upstream sockets, and every UDP query is still answered.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer } from '../helpers/cli.js';
import { holdIdleConnections, openDescriptors } from '../helpers/descriptors.js';
import { encodeQuery } from '../helpers/packets.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

const LIMIT = 256;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('descriptor budget', () => {
  let unbound: UnboundServer;
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-fdbudget-'));
  before(async () => {
    unbound = await UnboundServer.start({ zones: ['budget.test'], records: ['known.budget.test. 300 IN A 192.0.2.9'] });
  });
  after(async () => {
    await unbound?.stop();
  });

  /**
   * Holds 300 idle connections to the console and to DNS over TCP, each from its own loopback
   * address (so per-address caps do not stop them: more than the whole limit), then asks 500
   * new names, each of which goes upstream.
   */
  async function attack(extraArgs: string[]): Promise<void> {
    const [port, consolePort] = [await freePort(), await freePort()];
    const server = CliServer.start(
      [
        '--listen',
        `127.0.0.1:${port}`,
        '--upstream',
        `127.0.0.1:${unbound.port}`,
        '--console',
        `127.0.0.1:${consolePort}`,
        '--guard',
        'off',
        '--data-dir',
        mkdtempSync(join(dir, 'var-')),
        ...extraArgs,
      ],
      {},
      { openFileLimit: LIMIT },
    );
    const child = server.child;
    const held: net.Socket[] = [];
    try {
      // Each I/O thread starts its own V8 instance: a second or more each on a busy machine.
      await server.waitForLog('dnsward started', 1, 60_000);
      assert.match(server.log, /connection caps cut to fit the open-file limit/);
      for (const target of [consolePort, port]) held.push(...(await holdIdleConnections(target, 300)));
      const used = openDescriptors(child.pid!);
      assert.ok(used > 0 && used < LIMIT, `dnsward holds ${used} of ${LIMIT} descriptors`);
      const client = dgram.createSocket('udp4');
      let answered = 0;
      client.on('message', () => answered++);
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
      const total = 500;
      for (let i = 0; i < total; i++) {
        client.send(
          encodeQuery(`u${i}-${Math.random().toString(36).slice(2, 8)}.budget.test`, 'A', { id: i }),
          port,
          '127.0.0.1',
        );
        if (i % 50 === 49) await sleep(5);
      }
      for (let i = 0; i < 150 && answered < total; i++) await sleep(20);
      client.close();
      assert.equal(answered, total, 'every query was answered');
      assert.equal(child.exitCode, null, 'dnsward is still running');
    } finally {
      for (const s of held) s.destroy();
      await server.stop();
    }
  }

  it('keeps descriptors for DNS while idle console and TCP connections are held open past the limit', async () => {
    await attack([]);
  });

  it('counts the sockets of every I/O thread: four threads, each with its own listener and 32 upstream sockets', async () => {
    // Each I/O thread is a whole data plane (its own UDP listener and upstream sockets); a budget
    // that counted them once left the DNS TCP cap about 20 descriptors above what was free here.
    const config = join(dir, 'threads.yaml');
    writeFileSync(config, 'upstreams:\n  sockets: 32\n');
    await attack(['--config', config, '--threads', '4']);
  });
});
