/**
 * Splunk HEC and Elasticsearch `_bulk` sinks, checked against the documented request formats by
 * a local HTTP receiver (no Splunk or Elasticsearch package exists in Debian: this is the one
 * mock). The receiver refuses the first HEC request, so the retry path is exercised too.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('HTTP event sinks (Splunk HEC, Elasticsearch _bulk)', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;
  let receiver: Server;
  const received: Received[] = [];
  let hecCalls = 0;

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/services/collector/event' && hecCalls++ === 0) {
          res.writeHead(503).end('{"text":"Server is busy","code":9}');
          return;
        }
        received.push({ path: req.url ?? '', headers: req.headers, body });
        if (req.url === '/_bulk')
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"took":1,"errors":false,"items":[]}');
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const port = (receiver.address() as AddressInfo).port;
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    dw = await startDnsward(`listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"] }
events:
  http:
    - { kind: splunk-hec, url: "http://127.0.0.1:${port}/services/collector/event", token: "11111111-2222-3333-4444-555555555555" }
    - { kind: elasticsearch, url: "http://127.0.0.1:${port}/_bulk", index: dnsward-test }
`);
  });

  after(async () => {
    await dw?.stop();
    await unbound?.stop();
    await new Promise((r) => receiver.close(r));
  });

  const waitFor = async (pred: () => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!pred()) {
      if (Date.now() > deadline)
        throw new Error(`${what} not received; got ${JSON.stringify(received.map((r) => r.path))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('posts a domain block in the HEC event format and as ECS NDJSON, retrying a refused request', async () => {
    const r = () => Math.random().toString(36).slice(2, 12);
    for (let i = 0; i < 12; i++)
      await dig('127.0.0.1', dw.port, [
        `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.leaky-http.test`,
        'TXT',
      ]);
    await waitFor(
      () => received.some((x) => x.path === '/_bulk' && x.body.includes('"domain_blocked"')),
      '_bulk with the block',
    );
    await waitFor(
      () => received.some((x) => x.path === '/services/collector/event' && x.body.includes('"domain_blocked"')),
      'HEC with the block (after a 503 and a retry)',
    );

    const hecRequests = received.filter((x) => x.path === '/services/collector/event');
    for (const h of hecRequests) assert.equal(h.headers.authorization, 'Splunk 11111111-2222-3333-4444-555555555555');
    const hecEvents = hecRequests
      .map((h) => h.body)
      .join('')
      .split(/(?<=\})(?=\{"time")/)
      .map(
        (j) =>
          JSON.parse(j) as {
            time: number;
            host: string;
            source: string;
            sourcetype: string;
            event: { type: string; domain: string; stages: unknown[] };
          },
      );
    const blocked = hecEvents.find((e) => e.event.type === 'domain_blocked')!;
    assert.ok(blocked, hecRequests.map((h) => h.body.slice(0, 200)).join(' | '));
    assert.equal(typeof blocked.time, 'number');
    assert.equal(blocked.sourcetype, 'dnsward:security');
    assert.equal(blocked.event.domain, 'leaky-http.test');
    assert.equal(blocked.event.stages.length, 5);

    const bulk = received.find((x) => x.path === '/_bulk' && x.body.includes('"domain_blocked"'))!;
    assert.equal(bulk.headers['content-type'], 'application/x-ndjson');
    assert.ok(bulk.body.endsWith('\n'), 'NDJSON ends with a newline');
    const lines = bulk.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(lines.length % 2, 0);
    assert.deepEqual(lines[0], { create: { _index: 'dnsward-test' } });
    const doc = lines.find((l) => l.event?.action === 'domain_blocked')!;
    assert.ok(doc['@timestamp']);
    assert.equal(doc.event.kind, 'alert');
    assert.deepEqual(doc.event.type, ['denied']);
    assert.equal(doc.source.ip, '127.0.0.1');
    assert.equal(doc.dns.question.registered_domain, 'leaky-http.test');
    assert.match(doc.rule.id, /^TG-[0-9a-f]{8}$/);
    assert.equal(dw.server.snapshot().events.dropped, 0);
  });
});
