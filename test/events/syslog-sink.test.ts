/**
 * The syslog sink's bounds hold while connected: a collector that accepts the connection and
 * never reads must not make dnsward's memory grow with every event.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { securityEvent } from '../../src/events/security-event.js';
import { SOCKET_QUEUE_BYTES, SyslogSink } from '../../src/events/sinks/syslog-sink.js';

describe('syslog sink with a collector that never reads', () => {
  let collector: net.Server;
  let accepted: net.Socket | null = null;
  let port = 0;

  before(async () => {
    collector = net.createServer({ pauseOnConnect: true }, (socket) => (accepted = socket));
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    port = (collector.address() as net.AddressInfo).port;
  });
  after(async () => {
    accepted?.destroy();
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  });

  it('keeps at most maxBuffered frames and a bounded socket queue, dropping the oldest and counting them', async () => {
    const maxBuffered = 1000;
    const sink = new SyslogSink({
      address: { host: '127.0.0.1', port, family: 4 },
      protocol: 'tcp',
      format: 'json',
      maxBuffered,
    });
    const event = (i: number) =>
      securityEvent({
        type: 'tunnel_detected',
        severity: 5,
        domain: `d${i}.example`,
        reasons: ['x'.repeat(400)],
        stages: [],
      });
    sink.write([event(0)]);
    for (let i = 0; i < 100 && !sink.status().connected; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.status().connected, true, 'the sink connected to the collector');
    // About 12 MB of events in all, far more than the kernel's socket buffers take.
    const total = 24_001;
    for (let i = 1; i < total; i += 500) {
      sink.write(Array.from({ length: 500 }, (_, k) => event(i + k)));
      await new Promise((r) => setImmediate(r));
    }
    const s = sink.status();
    assert.ok(s.buffered <= maxBuffered, `buffered ${s.buffered} frames`);
    assert.ok(s.dropped > 0, 'frames beyond the bounds were dropped and counted');
    assert.equal(s.sent + s.dropped + s.buffered, total, 'every event is sent, buffered or counted as dropped');
    assert.ok(sink.socketQueueBytes <= SOCKET_QUEUE_BYTES + 2048, `socket queue ${sink.socketQueueBytes} bytes`);
    accepted?.destroy();
    await sink.close();
  });
});
