/** `dnsward analyze` as a user runs it: JSONL in, one verdict line per query out, a summary on stderr. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Random } from '../../eval/traffic/random.js';
import { runCli } from '../helpers/cli.js';
import { encodeQuery } from '../helpers/packets.js';
import { ipv4, pcap, udp } from '../helpers/pcap-builder.js';

const T0 = 1_700_000_000;
const dir = mkdtempSync(join(tmpdir(), 'dnsward-analyze-'));

function jsonl(lines: unknown[]): string {
  return lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
}

function tunnelLines(count: number, start: number): Array<{ ts: number }> {
  const rng = new Random(11);
  return Array.from({ length: count }, (_, i) => ({
    ts: start + i * 0.3,
    client: '10.0.0.66',
    qname: `${rng.chars('abcdefghijklmnopqrstuvwxyz234567', 60)}.${rng.chars('abcdefghijklmnopqrstuvwxyz234567', 50)}.leaky-example.net`,
    qtype: 'TXT',
    seq: i,
  }));
}

function benignLines(count: number, start: number): Array<{ ts: number }> {
  const rng = new Random(12);
  return Array.from({ length: count }, (_, i) => ({
    ts: start + i,
    client: `10.0.0.${rng.int(1, 20)}`,
    qname: `${rng.pick(['www', 'mail', 'api'])}.site${rng.int(1, 50)}.com`,
    qtype: 1,
    rcode: 'NOERROR',
    answer_size: 64,
  }));
}

async function analyze(
  args: string[],
): Promise<{ code: number; lines: Array<Record<string, unknown>>; stderr: string; text: string }> {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.jsonl`);
  const { code, stderr } = await runCli(['analyze', '--out', out, ...args]);
  const text = code === 0 ? readFileSync(out, 'utf8') : '';
  return {
    code,
    stderr,
    text,
    lines:
      text.trim() === ''
        ? []
        : text
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('dnsward analyze', () => {
  it('writes exactly one line per query, in input order, ignores unknown fields and counts bad lines', async () => {
    const input = join(dir, 'mixed.jsonl');
    const good = [
      ...benignLines(30, T0),
      { ts: T0 + 40, client: '10.0.0.1', qname: 'a\\200\\201b.binary-example.org', qtype: 10, extra: { nested: true } },
    ];
    writeFileSync(
      input,
      jsonl([
        ...good.slice(0, 10),
        'not json',
        { ts: 'yesterday', client: 'x', qname: 'y', qtype: 1 },
        ...good.slice(10),
      ]),
    );
    const { code, lines, stderr } = await analyze([input]);
    assert.equal(code, 0, stderr);
    assert.equal(lines.length, good.length);
    assert.deepEqual(
      lines.map((l) => l.ts),
      good.map((g) => g.ts),
    );
    for (const l of lines) {
      assert.deepEqual(Object.keys(l), [
        'ts',
        'client',
        'qname',
        'qtype',
        'domain',
        'action',
        'score',
        'reasons',
        'stages',
      ]);
      assert.deepEqual(
        (l.stages as Array<{ name: string }>).map((s) => s.name),
        ['anatomy', 'query', 'state', 'normal', 'decision'],
      );
    }
    assert.equal(lines[lines.length - 1].qname, 'a\\200\\201b.binary-example.org', 'binary bytes survive as escapes');
    assert.equal(lines[lines.length - 1].qtype, 'NULL');
    assert.match(stderr, /2 bad JSONL lines/);
    assert.match(stderr, /mixed\.jsonl:11: not JSON/);
  });

  it('blocks a tunnel in a query log, explains it, and is deterministic', async () => {
    const input = join(dir, 'tunnel.jsonl');
    writeFileSync(
      input,
      jsonl(
        [...benignLines(200, T0), ...tunnelLines(40, T0 + 100)].sort(
          (a, b) => (a as { ts: number }).ts - (b as { ts: number }).ts,
        ),
      ),
    );
    const first = await analyze([input]);
    const second = await analyze([input]);
    assert.equal(first.text, second.text, 'same input, same output');
    const tunnel = first.lines.filter((l) => l.domain === 'leaky-example.net');
    const firstBlock = tunnel.findIndex((l) => l.action === 'block');
    assert.ok(firstBlock >= 0 && firstBlock < 10, `first block at ${firstBlock}`);
    assert.ok(first.lines.filter((l) => l.domain !== 'leaky-example.net').every((l) => l.action === 'allow'));
    assert.match(first.stderr, /BLOCK\s+leaky-example\.net/);
    assert.match(first.stderr, /why: /);
    assert.match(first.stderr, /Likely false positives[^\n]*\n\s+none/);
  });

  it('learns from --learn files without writing lines for them, and carries learning in --state', async () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    const both = join(dir, 'ab.jsonl');
    const partA = [...benignLines(150, T0), ...tunnelLines(20, T0 + 50)].sort(
      (x, y) => (x as { ts: number }).ts - (y as { ts: number }).ts,
    );
    const partB = [...benignLines(150, T0 + 1000), ...tunnelLines(20, T0 + 1050)].sort(
      (x, y) => (x as { ts: number }).ts - (y as { ts: number }).ts,
    );
    writeFileSync(a, jsonl(partA));
    writeFileSync(b, jsonl(partB));
    writeFileSync(both, jsonl([...partA, ...partB]));
    const learned = await analyze(['--learn', a, b]);
    assert.equal(learned.lines.length, partB.length);
    const whole = await analyze([both]);
    assert.deepEqual(learned.lines, whole.lines.slice(partA.length), '--learn A then B equals the tail of A+B');
    const state = join(dir, 'state.json');
    await analyze(['--state', state, a]);
    const resumed = await analyze(['--state', state, b]);
    assert.deepEqual(resumed.lines, whole.lines.slice(partA.length), '--state after A, then B, equals the tail of A+B');
  });

  it('says what is wrong with bad usage and unreadable state', async () => {
    const none = await runCli(['analyze']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /at least one INPUT/);
    const missing = await runCli(['analyze', join(dir, 'nope.jsonl')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file/);
    const bad = join(dir, 'bad-state.json');
    writeFileSync(bad, '{"format":"other"}');
    const input = join(dir, 'one.jsonl');
    writeFileSync(input, jsonl(benignLines(1, T0)));
    const state = await runCli(['analyze', '--state', bad, input]);
    assert.equal(state.code, 1);
    assert.match(state.stderr, /cannot load --state .*bad-state\.json: state: not a dnsward-tunnel-guard-state file/);
  });

  it("reads dnsward's own `queries --json` rows (time in ms) and fails when nothing could be read", async () => {
    const own = join(dir, 'own-queries.jsonl');
    const rows = tunnelLines(400, T0).map((l, i) => ({
      t: Math.round((l as { ts: number }).ts * 1000),
      client: '10.0.0.66',
      transport: 'udp',
      qtype: 16,
      qname: (l as unknown as { qname: string }).qname,
      type: 'answered',
      rcode: i % 2 === 0 ? 0 : 255,
      latencyMs: 1.2,
      upstream: '127.0.0.1:53',
      reason: '',
    }));
    writeFileSync(own, jsonl(rows));
    const read = await analyze([own]);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.lines.length, 400);
    assert.doesNotMatch(read.stderr, /bad JSONL lines/);
    assert.ok(
      read.lines.some((l) => l.action === 'block'),
      'the tunnel in the rows is found',
    );

    const junk = join(dir, 'junk.jsonl');
    writeFileSync(junk, jsonl(Array.from({ length: 50 }, (_, i) => ({ when: i, name: 'x.example' }))));
    const nothing = await runCli(['analyze', junk]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /50 bad JSONL lines/);
    assert.match(nothing.stderr, /Nothing analysed: no query could be read/);
    assert.doesNotMatch(nothing.stderr, /No tunnel/);
  });

  it('says how many packets of a capture were not DNS on port 53', async () => {
    const frames = [5353, 5353, 53].map((port) => ipv4(17, udp(40000, port, encodeQuery('www.example.com', 'A'))));
    const file = join(dir, 'mdns.pcap');
    writeFileSync(file, pcap(101, frames));
    const r = await analyze([file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines.length, 1);
    assert.match(r.stderr, /2 packets not DNS on port 53/);
    assert.match(r.stderr, /2 of 3 packets were not DNS on port 53 \(DNS on another port is not read\)/);
  });
});
