/**
 * Graceful shutdown: a query in flight when stop() begins is still answered. The upstream is
 * a scripted slow responder (node:dgram): no real resolver can be told to answer late.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { udpExchange } from '../helpers/dns-client.js';
import { startDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';

describe('graceful shutdown', () => {
  it('answers the queries in flight before it stops', async () => {
    const slow = dgram.createSocket('udp4');
    slow.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      if (q.questions![0].name === '.') return; // health probes: stay silent
      const answer = dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: 0x8180,
        questions: q.questions,
        answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data: '192.0.2.55' }],
      });
      setTimeout(() => slow.send(answer, rinfo.port, rinfo.address), 400);
    });
    await new Promise<void>((r) => slow.bind(0, '127.0.0.1', r));
    const dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${slow.address().port}"], timeout: 2s }
shutdown: { drainTimeout: 3s }
`);
    try {
      const pending = udpExchange('127.0.0.1', dw.port, encodeQuery('late.example', 'A', { id: 9 }), 3000);
      for (let i = 0; i < 50 && dw.server.pipeline.queriesInFlight === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(dw.server.pipeline.queriesInFlight, 1);
      await dw.stop();
      const reply = await pending;
      assert.ok(reply, 'the in-flight query was answered');
      assert.equal((dnsPacket.decode(reply).answers![0] as { data: string }).data, '192.0.2.55');
    } finally {
      slow.close();
    }
  });
});
