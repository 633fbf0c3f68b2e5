import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readQueryLog } from '../../src/capture/jsonl-reader.js';

describe('query-log reader (JSONL)', () => {
  it('reads the documented fields, ignores unknown ones, keeps order', () => {
    const text = [
      '{"ts": 1700000000.5, "client": "192.0.2.7", "qname": "a.example", "qtype": "TXT", "extra": [1,2]}',
      '{"ts": 1700000001, "client": "2001:db8::7", "qname": "b.example", "qtype": 16, "rcode": "NXDOMAIN", "answer_size": 120}',
      '{"ts": 1700000002, "client": "192.0.2.7", "qname": "c.example", "qtype": "type65"}',
      '',
    ].join('\n');
    const { queries, problems } = readQueryLog(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      queries.map((q) => [q.qname, q.qtype]),
      [
        ['a.example', 16],
        ['b.example', 16],
        ['c.example', 65],
      ],
    );
    assert.equal(queries[1].rcode, 3);
    assert.equal(queries[1].answerSize, 120);
    assert.equal(queries[0].ts, 1700000000.5);
  });

  it('counts bad lines with their line numbers and reasons', () => {
    const text = [
      'not json',
      '[1]',
      '{"ts": "x", "client": "c", "qname": "q", "qtype": 1}',
      '{"ts": 1, "client": "c", "qname": "q", "qtype": "BOGUS"}',
      '{"ts": 1, "client": "c", "qname": "ok.example", "qtype": "A"}',
    ].join('\n');
    const { queries, problems } = readQueryLog(text);
    assert.equal(queries.length, 1);
    assert.deepEqual(
      problems.map((p) => p.line),
      [1, 2, 3, 4],
    );
    assert.match(problems[3].reason, /qtype/);
  });
});
