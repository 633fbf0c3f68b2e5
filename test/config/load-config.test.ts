import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig } from '../../src/config/load-config.js';
import { nameserversFromResolvConf } from '../../src/config/resolv-conf.js';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-config-'));
function resolvConf(text: string): string {
  const path = join(dir, `resolv-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, text);
  return path;
}

describe('the embedded default configuration', () => {
  it('listens on 127.0.0.1:5353 over UDP and TCP, data in ./var, I/O threads by core count', () => {
    const { config } = loadConfig(undefined, {}, resolvConf('nameserver 192.0.2.53\n'));
    assert.deepEqual(
      config.listen.map((l) => [l.address.host, l.address.port, l.protocols]),
      [['127.0.0.1', 5353, ['udp', 'tcp']]],
    );
    assert.equal(config.dataDir, './var');
    assert.equal(config.threads, 'auto');
  });

  it('forwards to the system nameservers (read from a resolv file), leaving out loopback and its own addresses', () => {
    const path = resolvConf(
      '# comment\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 192.0.2.53\nnameserver 10.9.9.9\nnameserver fe80::1%eth0\noptions edns0\n',
    );
    const { config, upstreamSource } = loadConfig(undefined, { listen: ['10.9.9.9:53'] }, path);
    assert.equal(upstreamSource, path);
    assert.deepEqual(
      config.upstreams.servers.map((s) => s.address.host),
      ['192.0.2.53', 'fe80::1'],
    );
  });

  it('refuses to start with no usable upstream, and says what to do', () => {
    assert.throws(
      () => loadConfig(undefined, {}, resolvConf('nameserver 127.0.0.1\n')),
      (err: ConfigError) => /--upstream/.test(err.message),
    );
  });

  it('lets flags replace the file and add forward zones', () => {
    const file = join(dir, 'flags.yaml');
    writeFileSync(file, 'listen: ["127.0.0.1:53"]\nupstreams: { servers: ["192.0.2.1"], policy: round-robin }\n');
    const { config } = loadConfig(file, {
      listen: ['[::1]:5300'],
      upstreams: ['192.0.2.9:5353'],
      forwardZones: ['corp.example=10.0.0.1,10.0.0.2:5300'],
      dataDir: '/tmp/x',
    });
    assert.equal(config.listen[0].address.host, '::1');
    assert.equal(config.upstreams.servers[0].address.port, 5353);
    assert.equal(config.upstreams.policy, 'round-robin');
    assert.deepEqual(
      config.forwardZones[0].servers.map((s) => s.address.port),
      [53, 5300],
    );
    assert.equal(config.dataDir, '/tmp/x');
  });

  it('parses nameserver lines only', () => {
    assert.deepEqual(
      nameserversFromResolvConf('search x\nnameserver 192.0.2.1\n nameserver   2001:db8::1 \nnameserver bogus\n'),
      ['192.0.2.1', '2001:db8::1'],
    );
  });
});

describe('a configuration file that is hostile', () => {
  it('refuses aliases that expand without end ("billion laughs") as a configuration error naming the file', () => {
    const file = join(dir, 'laughs.yaml');
    const level = (name: string, of: string) => `${name}: &${name} [${Array(9).fill(`*${of}`).join(', ')}]\n`;
    writeFileSync(
      file,
      `a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n${level('b', 'a')}${level('c', 'b')}${level('d', 'c')}${level('e', 'd')}${level('f', 'e')}`,
    );
    assert.throws(
      () => loadConfig(file, { upstreams: ['127.0.0.1'] }),
      (err: unknown) =>
        err instanceof ConfigError && err.source === file && /YAML: Excessive alias count/.test(err.message),
    );
  });

  it('still reads a file that uses a few aliases', () => {
    const file = join(dir, 'aliases.yaml');
    writeFileSync(
      file,
      'listen: &l ["127.0.0.1:5300"]\nconsole: { listen: null, allowedHosts: ["dnsward.example:8053"] }\nupstreams: { servers: ["127.0.0.1:53"] }\nforwardZones:\n  - { zone: a.example, servers: &s ["127.0.0.1:5301"] }\n  - { zone: b.example, servers: *s }\n',
    );
    const { config } = loadConfig(file);
    assert.equal(config.forwardZones[1].servers[0].address.port, 5301);
    assert.deepEqual(config.console.allowedHosts, ['dnsward.example:8053']);
    assert.equal(config.console.maxConnections, 64);
    assert.equal(config.metrics.maxConnections, 16);
  });
});
