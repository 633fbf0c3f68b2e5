/** The control socket's own limits: connections capped, idle ones destroyed; commands still served. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { sendControl } from '../../src/control/control-client.js';
import { ControlServer } from '../../src/control/control-server.js';
import type { ControlBackend } from '../../src/control/control-backend.js';

describe('control socket limits', () => {
  it('closes connections past the cap at once, destroys idle ones, and answers a command afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-control-'));
    const dnsward: ControlBackend = { control: () => ({ blocks: [] }) };
    const control = new ControlServer(dir, dnsward, pino({ level: 'silent' }), {
      maxConnections: 4,
      idleTimeoutMs: 500,
    });
    await control.start();
    const sockets: Socket[] = [];
    let closed = 0;
    try {
      for (let i = 0; i < 7; i++) {
        // Half-open allowed: only the server can end these. See the console's caps test for
        // why a second write tells a destroyed socket from a half-closed one.
        const s = connect({ path: control.path, allowHalfOpen: true });
        s.on('error', () => {});
        s.on('end', () => {
          s.write('x');
          setTimeout(() => s.write('y'), 200).unref();
        });
        s.on('close', () => closed++);
        await once(s, 'connect');
        sockets.push(s);
      }
      const deadline = Date.now() + 8000;
      while (closed < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(closed, 7, 'every connection fully closed');
      assert.equal(control.counters.evicted, 3, 'the least recently active made room for newcomers');
      assert.equal(control.counters.idleClosed, 4);
      assert.deepEqual(await sendControl(dir, { cmd: 'blocks' }), { blocks: [] });
    } finally {
      for (const s of sockets) s.destroy();
      await control.stop();
    }
  });
});
