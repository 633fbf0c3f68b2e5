/** JSONL is read in chunks: lines across chunk boundaries, long lines and UTF-8 survive. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type InputRecord, MAX_LINE_BYTES, newProblems, readInput } from '../../src/analyze/input-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-input-reader-'));

function read(text: string | Buffer): { records: InputRecord[]; problems: ReturnType<typeof newProblems> } {
  const path = join(dir, `in-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(path, text);
  const problems = newProblems();
  const records: InputRecord[] = [];
  assert.equal(
    readInput(path, problems, (r) => records.push(r)),
    'jsonl',
  );
  return { records, problems };
}

const line = (i: number, name = `n${i}.example`) =>
  JSON.stringify({ ts: i, client: '10.0.0.1', qname: name, qtype: 'A' });

describe('analyze input reader (JSONL)', () => {
  it('reads every line of a file several chunks long, in order', () => {
    const count = 60_000; // about 3.5 MB: four chunks of 1 MiB
    const lines = Array.from({ length: count }, (_, i) => line(i));
    const { records, problems } = read(lines.join('\n') + '\n');
    assert.equal(problems.badLines, 0);
    assert.equal(records.length, count);
    for (let i = 0; i < count; i += 997) assert.deepEqual(records[i].labels, [`n${i}`, 'example']);
    assert.equal(records[count - 1].ts, count - 1);
  });

  it('reads a last line without a newline, CRLF endings and blank lines', () => {
    const { records, problems } = read(`${line(1)}\r\n\r\n\n${line(2)}`);
    assert.equal(problems.badLines, 0);
    assert.deepEqual(
      records.map((r) => r.ts),
      [1, 2],
    );
  });

  it('keeps multi-byte UTF-8 that straddles a chunk boundary', () => {
    const pad = 'x'.repeat(200);
    const lines: string[] = [];
    // Enough lines with a two-byte character that one of them crosses the 1 MiB boundary.
    for (let i = 0; i < 6000; i++) lines.push(line(i, `${pad}é${i}.example`));
    const { records, problems } = read(lines.join('\n') + '\n');
    assert.equal(problems.badLines, 0);
    assert.equal(records.length, 6000);
    records.forEach((r, i) => assert.equal(r.labels[0], `${pad}é${i}`));
  });

  it('counts a line longer than the limit as bad, and goes on with the next', () => {
    const long = JSON.stringify({
      ts: 5,
      client: '10.0.0.1',
      qname: `${'a'.repeat(MAX_LINE_BYTES * 3)}.example`,
      qtype: 'A',
    });
    const { records, problems } = read([line(1), long, line(2), 'not json', line(3)].join('\n') + '\n');
    assert.deepEqual(
      records.map((r) => r.ts),
      [1, 2, 3],
    );
    assert.equal(problems.badLines, 2);
    assert.match(problems.examples[0], /:2: line longer than 65536 bytes/);
    assert.match(problems.examples[1], /:4: not JSON/);
  });
});
