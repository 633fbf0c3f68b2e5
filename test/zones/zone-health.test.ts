/**
 * HTTP and DNS health checks of balanced local-zone targets: a web server answering 5xx on the
 * checked path, or a DNS server gone or answering without records, leaves the answers; it comes
 * back when healthy again. Real servers: node:http and unbound.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { decode, encode } from 'dns-packet';
import { dig, udpExchange } from '../helpers/dns-client.js';
import { configProblems, loadConfigText } from '../helpers/config.js';
import { startDnsward } from '../helpers/dnsward.js';
import { freePort } from '../helpers/ports.js';
import { UnboundServer } from '../helpers/unbound.js';

const SOA = '"@ 60 SOA ns hostmaster 1 3600 600 86400 60"';
let id = 1;

async function ask(port: number, name: string, type: 'A' | 'SRV'): Promise<string[]> {
  const reply = await udpExchange(
    '127.0.0.1',
    port,
    encode({ id: id++ & 0xffff, type: 'query', questions: [{ name, type, class: 'IN' }] }),
    2000,
  );
  assert.ok(reply);
  const p = decode(reply);
  return (p.answers ?? [])
    .map((a) => (a.type === 'SRV' ? `${a.data.target}:${a.data.port}` : String((a as { data: unknown }).data)))
    .sort();
}

/** Asks until `want` is the answer, at most 100 times 100 ms apart; returns the last answer. */
async function until(port: number, name: string, type: 'A' | 'SRV', want: string[]): Promise<string[]> {
  let last: string[] = [];
  for (let i = 0; i < 100; i++) {
    last = await ask(port, name, type);
    if (JSON.stringify(last) === JSON.stringify(want)) return last;
    await sleep(100);
  }
  return last;
}

/** A web server whose /health answers `status` (other paths 404, so a check of the wrong path fails). */
async function webServer(
  host: string,
  port: number,
): Promise<{ server: http.Server; status: number; paths: string[] }> {
  const state = { server: null as unknown as http.Server, status: 200, paths: [] as string[] };
  state.server = http.createServer((req, res) => {
    if (state.paths.length < 100) state.paths.push(req.url ?? '');
    res.writeHead(
      req.url === '/health' ? state.status : 404,
      req.url === '/health' && state.status === 302 ? { location: '/' } : {},
    );
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    state.server.once('error', reject);
    state.server.listen(port, host, () => resolve());
  });
  return state;
}

for (const threads of [0, 1]) {
  test(`http: a target whose /health answers 503 leaves the answers, and returns on 302 (threads: ${threads})`, async () => {
    const unbound = await UnboundServer.start({ zones: [], records: [] });
    const port = await freePort();
    const one = await webServer('127.0.0.11', port);
    const two = await webServer('127.0.0.12', port);
    const dw = await startDnsward(`
listen: ['127.0.0.1:@PORT@']
upstreams: { servers: ['127.0.0.1:${unbound.port}'] }
threads: ${threads}
zones:
  - name: 5gc.example
    records: [${SOA}, "nrf 60 A 127.0.0.11", "nrf 60 A 127.0.0.12"]
    balance:
      - name: nrf.5gc.example
        answers: 2
        healthCheck: { type: http, port: ${port}, path: /health, interval: 100ms, timeout: 500ms, fall: 2, rise: 1 }
`);
    try {
      const both = ['127.0.0.11', '127.0.0.12'];
      assert.deepEqual(await ask(dw.port, 'nrf.5gc.example', 'A'), both);
      two.status = 503;
      assert.deepEqual(await until(dw.port, 'nrf.5gc.example', 'A', ['127.0.0.11']), ['127.0.0.11']);
      two.status = 302;
      assert.deepEqual(await until(dw.port, 'nrf.5gc.example', 'A', both), both);
      assert.ok(one.paths.length > 0 && one.paths.every((p) => p === '/health'), `paths asked: ${one.paths.join(' ')}`);
    } finally {
      await dw.stop();
      await new Promise((r) => one.server.close(r));
      await new Promise((r) => two.server.close(r));
      await unbound.stop();
    }
  });
}

test('dns: a DNS server that stops, or answers without records, leaves the SRV answers; it returns when it answers again', async () => {
  const records = ['probe.test. 60 IN A 192.0.2.1'];
  const first = await UnboundServer.start({ zones: ['probe.test'], records });
  const second = await UnboundServer.start({ zones: ['probe.test'], records });
  const dw = await startDnsward(`
listen: ['127.0.0.1:@PORT@']
upstreams: { servers: ['127.0.0.1:${first.port}'] }
zones:
  - name: 5gc.example
    records:
      - ${SOA}
      - "dns1 60 A 127.0.0.1"
      - "dns2 60 A 127.0.0.1"
      - "_dns._udp 60 SRV 10 50 ${first.port} dns1"
      - "_dns._udp 60 SRV 10 50 ${second.port} dns2"
    balance:
      - name: _dns._udp.5gc.example
        answers: 2
        healthCheck: { type: dns, query: { name: probe.test, type: A }, interval: 100ms, timeout: 500ms, fall: 2, rise: 1 }
`);
  const both = [`dns1.5gc.example:${first.port}`, `dns2.5gc.example:${second.port}`];
  const onlyFirst = [`dns1.5gc.example:${first.port}`];
  let nodata: UnboundServer | null = null;
  try {
    assert.deepEqual(await ask(dw.port, '_dns._udp.5gc.example', 'SRV'), both);
    await second.stop();
    assert.deepEqual(await until(dw.port, '_dns._udp.5gc.example', 'SRV', onlyFirst), onlyFirst);

    // Up again, but the question has no record there (NOERROR, no answer): still out.
    nodata = await UnboundServer.start({ zones: ['probe.test'], records: [], port: second.port });
    const direct = await dig('127.0.0.1', second.port, ['probe.test', 'A']);
    assert.deepEqual([direct.status, direct.answers.length], ['NOERROR', 0]);
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await ask(dw.port, '_dns._udp.5gc.example', 'SRV'), onlyFirst, `check ${i}`);
      await sleep(100);
    }
    await nodata.stop();
    nodata = null;

    await second.resume();
    assert.deepEqual(await until(dw.port, '_dns._udp.5gc.example', 'SRV', both), both);
  } finally {
    await dw.stop();
    await nodata?.stop();
    await first.stop();
    await second.stop();
  }
});

test('http and dns checks that do not fit are config errors', () => {
  const zone = (check: string) =>
    `zones:\n  - name: 5gc.example\n    records: [${SOA}, "nrf 60 A 192.0.2.1"]\n    balance:\n      - { name: nrf.5gc.example, healthCheck: ${check} }\n`;
  assert.match(configProblems(zone('{ type: dns }'))[0], /healthCheck\.query: type dns needs query: \{ name, type \}/);
  assert.match(
    configProblems(zone('{ type: tcp, port: 80, path: /x }'))[0],
    /healthCheck\.path: path goes with type http, not tcp/,
  );
  assert.match(
    configProblems(zone('{ type: http, query: { name: a.example } }'))[0],
    /healthCheck\.query: query goes with type dns, not http/,
  );
  assert.match(
    configProblems(zone('{ type: http, path: health }'))[0],
    /healthCheck\.path: expected an absolute URL path/,
  );
  assert.match(
    configProblems(zone('{ type: dns, query: { name: a.example, type: NOPE } }'))[0],
    /expected a query type/,
  );
  assert.match(configProblems(zone('{ type: icmp }'))[0], /healthCheck\.type/);
  // http and dns have well-known ports, so A/AAAA records need none.
  const http = loadConfigText(zone('{ type: http }')).zones[0].balance[0].healthCheck;
  assert.deepEqual([http?.type, http?.path, http?.port], ['http', '/', undefined]);
  assert.deepEqual(
    loadConfigText(zone('{ type: dns, query: { name: a.example } }')).zones[0].balance[0].healthCheck?.query,
    { name: 'a.example', type: 1 },
  );
});
