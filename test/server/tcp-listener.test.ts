/** RFC 7766 behaviour of the TCP listener: idle timeout, connection cap, in-flight cap. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tcpPipeline } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

function closed(socket: net.Socket, limitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
}

describe('TCP listener', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: Array.from({ length: 40 }, (_, i) => `q${i}.example.test. 300 IN A 192.0.2.${i + 1}`) });
    dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
tcp: { idleTimeout: 300ms, maxConnections: 2, maxInFlightPerConnection: 4 }
`);
  });
  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('closes a connection left idle past the idle timeout', async () => {
    const socket = await connect(dw.port);
    assert.equal(await closed(socket, 5000), true, 'the server closed the idle connection');
  });

  it('refuses connections beyond the cap', async () => {
    const a = await connect(dw.port);
    const b = await connect(dw.port);
    const c = await connect(dw.port);
    assert.equal(await closed(c, 2000), true, 'the third connection was closed at once');
    assert.ok(dw.server.snapshot().tcp.rejectedConnections >= 1);
    a.destroy();
    b.destroy();
    for (let i = 0; i < 100 && dw.server.snapshot().tcp.connections > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(dw.server.snapshot().tcp.connections, 0);
  });

  it('answers more pipelined queries than the in-flight cap, by pausing reads', async () => {
    const queries = Array.from({ length: 40 }, (_, i) => encodeQuery(`q${i}.example.test`, 'A', { id: 500 + i }));
    const answers = await tcpPipeline('127.0.0.1', dw.port, queries, 40);
    assert.deepEqual(answers.map((a) => a.readUInt16BE(0)).sort((x, y) => x - y), queries.map((_, i) => 500 + i));
  });
});
