/**
 * Security events as CEF in RFC 5424 over TCP to a real rsyslog; with the collector stopped
 * mid-run DNS goes on and events wait in the bounded buffer, then arrive after it restarts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { RsyslogServer } from '../helpers/rsyslog.js';
import { UnboundServer } from '../helpers/unbound.js';

const r = () => Math.random().toString(36).slice(2, 12);
const tunnelName = (zone: string) => `${r()}${r()}${r()}${r()}${r()}${r()}.${r()}${r()}${r()}${r()}.${zone}`;

describe('security events to rsyslog as CEF over TCP', () => {
  let unbound: UnboundServer;
  let rsyslog: RsyslogServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: ['www.example.test. 300 IN A 192.0.2.10'] });
    rsyslog = await RsyslogServer.start();
    dw = await startDnsward(`listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${unbound.port}"] }\nevents: { syslog: [{ address: "127.0.0.1:${rsyslog.port}", protocol: tcp, format: cef }] }\n`);
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
