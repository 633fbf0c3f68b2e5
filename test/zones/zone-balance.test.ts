/**
 * Weighted and health-checked local-zone answers: weights set the share of answers; a target
 * whose TCP listener stops leaves the answers (A and SRV), and comes back when it listens again.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { decode, encode } from 'dns-packet';
import { udpExchange } from '../helpers/dns-client.js';
import { configProblems } from '../helpers/config.js';
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
  assert.equal(p.flags! & 0x0400, 0x0400);
  return (p.answers ?? [])
    .map((a) => (a.type === 'SRV' ? a.data.target : String((a as { data: unknown }).data)))
    .sort();
}

test('weights set the share of answers; a weight of 0 is never answered', async () => {
  const unbound = await UnboundServer.start({ zones: [], records: [] });
  const dw = await startDnsward(`
listen: ['127.0.0.1:@PORT@']
upstreams: { servers: ['127.0.0.1:${unbound.port}'] }
zones:
  - name: 5gc.example
    records: [${SOA}, "nrf 60 A 192.0.2.11", "nrf 60 A 192.0.2.12", "nrf 60 A 192.0.2.13"]
    balance:
      - name: nrf.5gc.example
        weights: { 192.0.2.11: 3, 192.0.2.12: 1, 192.0.2.13: 0 }
`);
  try {
    const counts = new Map<string, number>();
    const n = 400;
    for (let i = 0; i < n; i++) {
      const answers = await ask(dw.port, 'nrf.5gc.example', 'A');
      assert.equal(answers.length, 1);
      counts.set(answers[0], (counts.get(answers[0]) ?? 0) + 1);
    }
    // Expected 0.75; the bounds are about seven standard deviations (0.022) either side.
    const share = (counts.get('192.0.2.11') ?? 0) / n;
    assert.ok(share > 0.6 && share < 0.9, `share of the weight-3 address: ${share}`);
    assert.equal(counts.get('192.0.2.13'), undefined);
  } finally {
    await dw.stop();
    await unbound.stop();
  }
});

function listen(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => s.destroy());
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
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

test('a target whose TCP listener stops leaves the A and SRV answers, and returns when it listens again', async () => {
  const unbound = await UnboundServer.start({ zones: [], records: [] });
  const port = await freePort();
  const one = await listen('127.0.0.11', port);
  let two = await listen('127.0.0.12', port);
  const dw = await startDnsward(`
listen: ['127.0.0.1:@PORT@']
upstreams: { servers: ['127.0.0.1:${unbound.port}'] }
zones:
  - name: 5gc.example
    records:
      - ${SOA}
      - "nrf 60 A 127.0.0.11"
      - "nrf 60 A 127.0.0.12"
      - "nrf1 60 A 127.0.0.11"
      - "nrf2 60 A 127.0.0.12"
      - "_nrf._tcp 60 SRV 10 50 ${port} nrf1"
      - "_nrf._tcp 60 SRV 10 50 ${port} nrf2"
    balance:
      - name: nrf.5gc.example
        answers: 2
        healthCheck: { port: ${port}, interval: 100ms, timeout: 500ms, fall: 2, rise: 1 }
      - name: _nrf._tcp.5gc.example
        answers: 2
        healthCheck: { interval: 100ms, timeout: 500ms, fall: 2, rise: 1 }
`);
  try {
    const both = ['127.0.0.11', '127.0.0.12'];
    const bothSrv = ['nrf1.5gc.example', 'nrf2.5gc.example'];
    assert.deepEqual(await ask(dw.port, 'nrf.5gc.example', 'A'), both);
    assert.deepEqual(await ask(dw.port, '_nrf._tcp.5gc.example', 'SRV'), bothSrv);

    await new Promise<void>((resolve) => two.close(() => resolve()));
    assert.deepEqual(await until(dw.port, 'nrf.5gc.example', 'A', ['127.0.0.11']), ['127.0.0.11']);
    assert.deepEqual(await until(dw.port, '_nrf._tcp.5gc.example', 'SRV', ['nrf1.5gc.example']), ['nrf1.5gc.example']);

    two = await listen('127.0.0.12', port);
    assert.deepEqual(await until(dw.port, 'nrf.5gc.example', 'A', both), both);
    assert.deepEqual(await until(dw.port, '_nrf._tcp.5gc.example', 'SRV', bothSrv), bothSrv);
  } finally {
    await dw.stop();
    one.close();
    two.close();
    await unbound.stop();
  }
});

test('balance rules that do not fit the zone are config errors', () => {
  const zone = (balance: string) =>
    `zones:\n  - name: 5gc.example\n    records: [${SOA}, "nrf 60 A 192.0.2.1", "txt 60 TXT x"]\n    balance:\n      - ${balance}\n`;
  assert.match(
    configProblems(zone('{ name: nrf.5gc.example, weights: { 192.0.2.9: 2 } }'))[0],
    /balance nrf.5gc.example: weights name 192.0.2.9, which is not a record of nrf.5gc.example \(expected its addresses or SRV targets: 192.0.2.1\)/,
  );
  assert.match(
    configProblems(zone('{ name: nrf.5gc.example, healthCheck: {} }'))[0],
    /healthCheck.port is needed to check A\/AAAA records/,
  );
  assert.match(configProblems(zone('{ name: txt.5gc.example }'))[0], /no A, AAAA or SRV records to balance/);
  assert.match(
    configProblems(zone('{ name: none.5gc.example }'))[0],
    /balance none.5gc.example: no such name in the zone 5gc.example/,
  );
});
