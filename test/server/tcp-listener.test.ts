/**
 * RFC 7766 behaviour of the TCP listener, and its bounds against hostile clients: idle, read and
 * write timeouts that destroy the socket, connection caps in total and per address (the oldest
 * idle connection makes room), the in-flight cap, and the cap on answers a client leaves unread.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tcpPipeline } from '../helpers/dns-client.js';
import { startDnsward, type RunningDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { UnboundServer } from '../helpers/unbound.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connect(port: number, localAddress = '127.0.0.1', allowHalfOpen = false): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen }, () => resolve(s));
    s.once('error', reject);
  });
}

function frame(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);
}

function closed(socket: net.Socket, limitMs: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), limitMs);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
}

/** Waits (bounded) until `check` holds; returns whether it did. */
async function until(check: () => boolean, limitMs: number): Promise<boolean> {
  for (let waited = 0; waited < limitMs; waited += 20) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

/** One query over TCP from `localAddress`; resolves with the answer's ID, or null. */
async function tcpQuery(port: number, localAddress: string, name: string, id: number): Promise<number | null> {
  const socket = await connect(port, localAddress);
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, 3000);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buffered.readUInt16BE(2));
      }
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    socket.write(frame(encodeQuery(name, 'A', { id })));
  });
}

describe('TCP listener', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: Array.from({ length: 40 }, (_, i) => `q${i}.example.test. 300 IN A 192.0.2.${i + 1}`),
    });
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

  it('destroys an idle connection rather than half-closing it: a client that never ends its side does not keep the slot', async () => {
    const socket = await connect(dw.port, '127.0.0.1', true);
    socket.on('error', () => {});
    let ended = false;
    socket.on('end', () => (ended = true));
    socket.resume();
    socket.write(Buffer.from([0])); // half a length prefix
    assert.equal(await until(() => ended, 5000), true, 'the server closed its side');
    assert.equal(
      await until(() => dw.server.snapshot().tcp.connections === 0, 2000),
      true,
      'the slot is free while the client still holds its side open',
    );
    assert.ok(dw.server.snapshot().tcp.closed.idle >= 1);
    // The server's socket is gone, not half-open: writing to it is answered with a reset.
    const isClosed = closed(socket, 3000);
    for (let i = 0; i < 20 && !socket.destroyed; i++) {
      socket.write(Buffer.from([0]));
      await sleep(100);
    }
    assert.equal(await isClosed, true, 'the client sees the connection close without ending its side');
  });

  it('at the connection cap, closes the least recently active idle connection to make room', async () => {
    const evictedBefore = dw.server.snapshot().tcp.closed.evicted;
    const a = await connect(dw.port);
    await sleep(30);
    const b = await connect(dw.port);
    const c = await connect(dw.port);
    assert.equal(await closed(a, 2000), true, 'the oldest idle connection was closed');
    assert.equal(b.destroyed, false);
    assert.equal(c.destroyed, false);
    assert.equal(dw.server.snapshot().tcp.closed.evicted, evictedBefore + 1);
    b.destroy();
    c.destroy();
    assert.equal(await until(() => dw.server.snapshot().tcp.connections === 0, 2000), true);
  });

  it('answers more pipelined queries than the in-flight cap, by pausing reads', async () => {
    const queries = Array.from({ length: 40 }, (_, i) => encodeQuery(`q${i}.example.test`, 'A', { id: 500 + i }));
    const answers = await tcpPipeline('127.0.0.1', dw.port, queries, 40);
    assert.deepEqual(
      answers.map((a) => a.readUInt16BE(0)).sort((x, y) => x - y),
      queries.map((_, i) => 500 + i),
    );
    assert.ok(dw.server.snapshot().tcp.maxInFlightSeen <= 4);
  });
});

describe('TCP listener against slow and many connections from one address', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: ['www.example.test. 300 IN A 192.0.2.1'] });
    dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
tcp: { idleTimeout: 5s, readTimeout: 600ms, maxConnections: 8, maxConnectionsPerClient: 4 }
`);
  });
  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('closes connections beyond the per-address cap, and another address still gets answers', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < 7; i++) {
      const s = await connect(dw.port);
      s.on('error', () => {});
      s.write(Buffer.from([0])); // a partial length prefix, never completed
      held.push(s);
    }
    const extraClosed = await Promise.all(held.slice(4).map((s) => closed(s, 2000)));
    assert.deepEqual(extraClosed, [true, true, true], 'the connections past the per-address cap were closed');
    assert.equal(held.slice(0, 4).filter((s) => s.destroyed).length, 0, 'the first four stay');
    assert.equal(dw.server.snapshot().tcp.rejectedPerClient, 3);
    assert.equal(
      await tcpQuery(dw.port, '127.0.0.2', 'www.example.test', 4242),
      4242,
      'a client from another address is answered',
    );
    for (const s of held) s.destroy();
    assert.equal(await until(() => dw.server.snapshot().tcp.connections === 0, 2000), true);
  });

  it('closes a connection whose message trickles in slower than the read timeout', async () => {
    const before = dw.server.snapshot().tcp.closed.readTimeout;
    const s = await connect(dw.port, '127.0.0.3');
    s.on('error', () => {});
    const isClosed = closed(s, 4000);
    const query = frame(encodeQuery('www.example.test', 'A', { id: 1 }));
    // One byte every 100 ms: never idle for the 5 s idle timeout, but slower than the 600 ms read timeout.
    for (let i = 0; i < query.length - 1 && !s.destroyed; i++) {
      s.write(query.subarray(i, i + 1));
      await sleep(100);
    }
    assert.equal(await isClosed, true, 'the server closed the trickling connection');
    assert.equal(dw.server.snapshot().tcp.closed.readTimeout, before + 1);
  });

  it('at the total cap, connections held with partial messages from many addresses do not lock a new client out', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await connect(dw.port, `127.0.1.${1 + (i % 4)}`);
      s.on('error', () => {});
      s.write(Buffer.from([0]));
      held.push(s);
    }
    assert.equal(await until(() => dw.server.snapshot().tcp.connections === 8, 2000), true);
    assert.equal(await tcpQuery(dw.port, '127.0.0.4', 'www.example.test', 777), 777, 'the new client is answered');
    assert.equal(await closed(held[0]!, 2000), true, 'the least recently active held connection made room');
    for (const s of held) s.destroy();
  });
});

describe('TCP listener in-flight cap toward a silent upstream', () => {
  let silent: dgram.Socket;
  let received = 0;
  let dw: RunningDnsward;

  before(async () => {
    silent = dgram.createSocket('udp4');
    silent.on('message', () => received++);
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${silent.address().port}"], timeout: 30s, attempts: 1 }
tcp: { maxInFlightPerConnection: 10, maxConnections: 2 }
shutdown: { drainTimeout: 200ms }
`);
  });
  const clients: net.Socket[] = [];
  after(async () => {
    for (const c of clients) c.destroy();
    await dw?.stop();
    silent?.close();
  });

  it('holds a connection at its in-flight cap even when one write carries many more queries', async () => {
    const s = await connect(dw.port);
    s.on('error', () => {});
    s.write(
      Buffer.concat(Array.from({ length: 300 }, (_, i) => frame(encodeQuery(`n${i}.example.test`, 'A', { id: i })))),
    );
    assert.equal(await until(() => received >= 10, 3000), true, 'the upstream saw the first queries');
    await sleep(300);
    assert.equal(dw.server.snapshot().inFlight, 10, 'queries in flight');
    assert.equal(dw.server.snapshot().tcp.maxInFlightSeen, 10);
    assert.equal(received, 10, 'queries sent upstream');
    clients.push(s);
  });

  it('refuses a new connection at the total cap when no connection is idle', async () => {
    const second = await connect(dw.port, '127.0.0.2');
    second.on('error', () => {});
    second.write(frame(encodeQuery('busy.example.test', 'A', { id: 9 })));
    assert.equal(await until(() => dw.server.snapshot().inFlight === 11, 2000), true);
    const third = await connect(dw.port, '127.0.0.3');
    assert.equal(await closed(third, 2000), true, 'the third connection was closed at once');
    assert.equal(dw.server.snapshot().tcp.rejectedConnections, 1);
    assert.equal(second.destroyed, false);
    clients.push(second);
  });
});

describe('TCP listener toward a client that does not read its answers', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  const cap = 32 * 1024;
  const inFlightCap = 8;
  // 15 strings of 250 bytes: an answer of about 3.9 KB.
  const txt = Array.from({ length: 15 }, (_, i) => `"${String(i).padEnd(249, 'x')}"`).join(' ');

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: [`big.example.test. 300 IN TXT ${txt}`] });
    dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
tcp: { maxBufferedPerConnection: 32KiB, maxInFlightPerConnection: ${inFlightCap}, writeTimeout: 1s, idleTimeout: 30s }
`);
  });
  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('stops reading queries once its unread answers pass the cap, and closes it after the write timeout', async () => {
    const s = await connect(dw.port);
    s.on('error', () => {});
    s.pause(); // never read (so it cannot see the close either: the server's counters tell)
    const batch = Buffer.concat(
      Array.from({ length: 500 }, (_, i) => frame(encodeQuery('big.example.test', 'TXT', { id: i }))),
    );
    const tcp = () => dw.server.snapshot().tcp;
    // Until the kernel's buffers are full, answers leave; then they wait in the process.
    for (let i = 0; i < 40 && tcp().pausedNow === 0; i++) {
      s.write(batch);
      await sleep(50);
    }
    assert.equal(tcp().pausedNow, 1, 'reading stopped for unread answers');
    const started = dw.server.snapshot().queries.tcp;
    for (let i = 0; i < 10; i++) s.write(batch); // 5,000 more queries
    await sleep(300);
    assert.equal(dw.server.snapshot().queries.tcp, started, 'no query started while its answers are unread');
    const bound = cap + inFlightCap * 4096;
    assert.ok(tcp().bufferedBytes <= bound, `buffered ${tcp().bufferedBytes} bytes`);
    assert.ok(tcp().maxBufferedBytes <= bound, `at most ${tcp().maxBufferedBytes} bytes buffered`);
    assert.equal(await until(() => tcp().connections === 0, 5000), true, 'closed after the write timeout');
    assert.equal(tcp().closed.writeTimeout, 1);
    s.destroy();
  });
});

describe('TCP listener toward many clients that do not read their answers', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  const txt = Array.from({ length: 15 }, (_, i) => `"${String(i).padEnd(249, 'x')}"`).join(' ');

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: [`big.example.test. 300 IN TXT ${txt}`] });
    dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
tcp: { maxBufferedPerConnection: 16KiB, maxBufferedTotal: 28KiB, maxInFlightPerConnection: 1, writeTimeout: 30s, idleTimeout: 30s }
`);
  });
  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('closes the connection holding the most unread answers once all together pass the total cap', async () => {
    const clients = [await connect(dw.port, '127.0.0.1'), await connect(dw.port, '127.0.0.2')];
    const batch = Buffer.concat(
      Array.from({ length: 500 }, (_, i) => frame(encodeQuery('big.example.test', 'TXT', { id: i }))),
    );
    const tcp = () => dw.server.snapshot().tcp;
    for (const s of clients) {
      s.on('error', () => {});
      s.pause(); // never read
    }
    // Each connection alone stays under the total (16 KiB and an answer); both together cannot.
    for (let i = 0; i < 40 && tcp().closed.overflow === 0; i++) {
      for (const s of clients) if (!s.destroyed) s.write(batch);
      await sleep(50);
    }
    assert.equal(tcp().closed.overflow, 1, 'one connection was closed for the total');
    assert.equal(tcp().connections, 1, 'the other stays');
    assert.ok(tcp().bufferedBytes <= 28 * 1024, `buffered ${tcp().bufferedBytes} bytes in all`);
    for (const s of clients) s.destroy();
  });
});
