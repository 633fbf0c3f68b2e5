/** The cluster section of the configuration: off by default, each way to reach Redis, and errors that name the key. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configProblems, loadConfigText } from '../helpers/config.js';

const load = loadConfigText;
const problems = configProblems;

const has = (found: string[], key: string, pattern: RegExp) =>
  assert.ok(
    found.some((p) => p.startsWith(`${key}: `) && pattern.test(p)),
    `no problem for ${key} matching ${pattern} in:\n${found.join('\n')}`,
  );

describe('cluster configuration', () => {
  it('is absent by default: one node alone', () => {
    assert.equal(load('{}').cluster, null);
  });

  it('reads one server, with defaults for the rest', () => {
    const c = load('cluster: { redis: { host: "127.0.0.1:6380" }, nodeName: a }').cluster!;
    assert.deepEqual(c.redis.host, { host: '127.0.0.1', port: 6380 });
    assert.equal(c.nodeName, 'a');
    assert.equal(c.keyPrefix, 'dnsward');
    assert.equal(c.queueSize, 10_000);
    assert.equal(c.resyncInterval, 30_000);
    assert.equal(load('cluster: { redis: { host: "redis.example" } }').cluster!.redis.host!.port, 6379);
    assert.match(
      load('cluster: { redis: { host: "::1" } }').cluster!.nodeName,
      /^[A-Za-z0-9._-]{1,64}$/,
      'the default node name is the host name, made safe',
    );
  });

  it('reads Sentinel and Redis Cluster addresses', () => {
    const s = load(
      'cluster: { redis: { sentinels: ["10.0.0.1", "[2001:db8::1]:26380", "sentinel-2.example:26381"], name: mymaster } }',
    ).cluster!.redis;
    assert.deepEqual(s.sentinels, [
      { host: '10.0.0.1', port: 26379 },
      { host: '2001:db8::1', port: 26380 },
      { host: 'sentinel-2.example', port: 26381 },
    ]);
    assert.equal(s.name, 'mymaster');
    const n = load('cluster: { redis: { nodes: ["10.0.0.1:7000", "10.0.0.2:7001"] } }').cluster!.redis;
    assert.deepEqual(n.nodes, [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
  });

  it('reads the password and TLS files at load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-cluster-config-'));
    writeFileSync(join(dir, 'password'), 's3cret\n');
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const c = load(
      `cluster: { redis: { url: "rediss://redis.example:6390/2", passwordFile: "${join(dir, 'password')}", tls: { ca: "${join(dir, 'ca.pem')}" } } }`,
    ).cluster!;
    assert.equal(c.redis.passwordFile, 's3cret', 'one trailing newline is not part of the password');
    assert.match(c.redis.tls!.ca!, /BEGIN CERTIFICATE/);
  });

  it('names the key and the expectation for each bad value', () => {
    has(
      problems('cluster: { redis: {} }'),
      'cluster.redis',
      /exactly one of url, host, sentinels \(with name\) or nodes, got 0/,
    );
    has(problems('cluster: { redis: { host: "a", nodes: ["b"] } }'), 'cluster.redis', /exactly one of .* got 2/);
    has(problems('cluster: { redis: { sentinels: ["10.0.0.1"] } }'), 'cluster.redis.name', /sentinels need name/);
    has(problems('cluster: { redis: { host: "10.0.0.1:99999" } }'), 'cluster.redis.host', /expected HOST\[:PORT\]/);
    has(problems('cluster: { redis: { url: "http://x" } }'), 'cluster.redis.url', /redis:\/\//);
    has(
      problems('cluster: { redis: { host: "h", passwordFile: "/nonexistent/redis-password" } }'),
      'cluster.redis.passwordFile',
      /cannot read \/nonexistent\/redis-password/,
    );
    has(
      problems('cluster: { redis: { host: "h", tls: { ca: "/nonexistent/ca.pem" } } }'),
      'cluster.redis.tls.ca',
      /cannot read \/nonexistent\/ca.pem/,
    );
    has(problems('cluster: { redis: { host: "h" }, nodeName: "a b" }'), 'cluster.nodeName', /letters, digits/);
    has(problems('cluster: { redis: { host: "h" }, keyPrefix: "" }'), 'cluster.keyPrefix', /1–64/);
    has(problems('cluster: { redis: { host: "h" }, color: blue }'), 'cluster', /color/);
  });
});
