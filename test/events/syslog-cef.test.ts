/**
 * Security events as CEF in RFC 5424 over TCP and TLS to a real rsyslog; with the collector stopped
 * mid-run DNS goes on and events wait in the bounded buffer, then arrive after it restarts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { makeSelfSignedCert } from '../helpers/certificates.js';
import { RsyslogServer } from '../helpers/rsyslog.js';
import { UnboundServer } from '../helpers/unbound.js';

const r = () => Math.random().toString(36).slice(2, 12);
const tunnelName = (zone: string) => `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.${zone}`;

describe('security events to rsyslog as CEF over TCP', () => {
  let unbound: UnboundServer;
  let rsyslog: RsyslogServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    rsyslog = await RsyslogServer.start();
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nevents: { syslog: [{ address: "127.0.0.1:${rsyslog.port}", protocol: tcp, format: cef }] }\n`,
    );
  });

  after(async () => {
    await dw?.stop();
    await rsyslog?.stop();
    await unbound?.stop();
  });

  it('delivers a domain block as CEF with the client, domain, incident and stage scores', async () => {
    for (let i = 0; i < 12; i++) await dig('127.0.0.1', dw.port, [tunnelName('cef-one.test'), 'TXT']);
    const line = await rsyslog.waitFor(/CEF:0\|dnsward\|dnsward\|[^|]+\|domain_blocked\|/);
    assert.match(line, /^<82>1 \S+ \S+ dnsward \d+ domain_blocked - CEF:0\|dnsward\|dnsward\|/);
    assert.match(line, /\|8\|/);
    assert.match(line, /src=127\.0\.0\.1/);
    assert.match(line, /cs1Label=domain cs1=cef-one\.test/);
    assert.match(line, /cs2Label=incident cs2=TG-[0-9a-f]{8}/);
    assert.match(line, /cs6=anatomy:\S+ query:\S+ state:\S+ normal:\S+ decision:\S+/);
    assert.match(line, /act=block /);
  });

  it('keeps answering while the collector is down, and delivers the held events when it is back', async () => {
    await rsyslog.stop();
    for (let i = 0; i < 12; i++) await dig('127.0.0.1', dw.port, [tunnelName('cef-two.test'), 'TXT']);
    assert.equal((await dig('127.0.0.1', dw.port, ['www.example.test', 'A'])).status, 'NOERROR');
    rsyslog = await rsyslog.restart();
    // The sink retries with backoff; a new event also wakes it.
    for (let i = 0; i < 12; i++) await dig('127.0.0.1', dw.port, [tunnelName('cef-three.test'), 'TXT']);
    await rsyslog.waitFor(/cs1=cef-two\.test/, 20_000);
    await rsyslog.waitFor(/cs1=cef-three\.test/, 20_000);
    assert.equal(dw.server.snapshot().events.dropped, 0);
  });
});

describe('security events to rsyslog as CEF over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-tls-'));
  let unbound: UnboundServer;
  let rsyslog: RsyslogServer;
  let dw: RunningDnsward;
  let wrongCa: RunningDnsward;

  before(async () => {
    const tls = makeSelfSignedCert(dir);
    const other = makeSelfSignedCert(dir, 'impostor');
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: ['www.example.test. 300 IN A 192.0.2.10'],
    });
    rsyslog = await RsyslogServer.start(undefined, undefined, tls);
    const config = (ca: string) =>
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nevents: { syslog: [{ address: "127.0.0.1:${rsyslog.port}", protocol: tls, format: cef, tls: { ca: "${ca}" } }] }\n`;
    dw = await startDnsward(config(tls.ca));
    wrongCa = await startDnsward(config(other.ca));
  });

  after(async () => {
    await dw?.stop();
    await wrongCa?.stop();
    await rsyslog?.stop();
    await unbound?.stop();
  });

  it('delivers CEF through a verified TLS session', async () => {
    for (let i = 0; i < 12; i++) await dig('127.0.0.1', dw.port, [tunnelName('cef-tls.test'), 'TXT']);
    const line = await rsyslog.waitFor(/domain_blocked\|.*cs1=cef-tls\.test/);
    assert.match(line, /^<82>1 \S+ \S+ dnsward \d+ domain_blocked - CEF:0\|dnsward\|dnsward\|[^|]+\|domain_blocked\|/);
    assert.match(line, /cs2Label=incident cs2=TG-[0-9a-f]{8}/);
    const sink = dw.server.snapshot().events.sinks.find((s) => s.name.startsWith('syslog:tls'));
    assert.equal(sink?.connected, true);
  });

  it('refuses a collector whose certificate does not chain to the configured CA, and says why', async () => {
    for (let i = 0; i < 12; i++) await dig('127.0.0.1', wrongCa.port, [tunnelName('cef-impostor.test'), 'TXT']);
    const deadline = Date.now() + 10_000;
    let sink = wrongCa.server.snapshot().events.sinks[0];
    while (!sink.lastError && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      sink = wrongCa.server.snapshot().events.sinks[0];
    }
    assert.match(sink.lastError ?? '', /self.signed|certificate/i);
    assert.equal(sink.connected, false);
    assert.ok(sink.buffered >= 1, 'the event waits in the bounded buffer');
    assert.ok(!rsyslog.received().some((l) => l.includes('cef-impostor.test')));
  });
});
