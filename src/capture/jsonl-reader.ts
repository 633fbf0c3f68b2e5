/**
 * Query-log lines for `dnsward analyze`: one JSON object per line,
 * `{"ts": <unix seconds>, "client": "<ip>", "qname": "<name>", "qtype": "TXT" | 16}` with optional
 * `rcode` and `answer_size`; dnsward's own `queries --json` rows (time as `t` in milliseconds)
 * are read as they are. Unknown fields are ignored; a line that does not fit is counted
 * with its line number, never thrown.
 */
import { qtypeFromText, RcodeName } from '../dns/wire.js';

export interface LoggedQuery {
  ts: number;
  client: string;
  qname: string;
  qtype: number;
  rcode?: number;
  answerSize?: number;
}

export interface JsonlProblem {
  line: number;
  reason: string;
}

const rcodeByName: Record<string, number> = Object.fromEntries(
  Object.entries(RcodeName).map(([code, name]) => [name, Number(code)]),
);

/** Parses one line; returns the query, or a string saying why not. */
export function parseQueryLogLine(text: string): LoggedQuery | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const o = value as Record<string, unknown>;
  const ts = typeof o.ts === 'number' ? o.ts : o.ts === undefined && typeof o.t === 'number' ? o.t / 1000 : NaN;
  if (!Number.isFinite(ts))
    return '"ts" must be a number of seconds (or "t" in milliseconds, as dnsward queries --json writes)';
  if (typeof o.client !== 'string' || o.client === '') return '"client" must be a non-empty string';
  if (typeof o.qname !== 'string' || o.qname === '') return '"qname" must be a non-empty string';
  const qtype = qtypeFromText(o.qtype);
  if (qtype === null) return '"qtype" must be a type name such as "TXT" or a number 0–65535';
  const q: LoggedQuery = { ts, client: o.client, qname: o.qname, qtype };
  // 255 is how the query log writes "no response code" (a dropped query).
  if (o.rcode !== undefined && o.rcode !== 255) {
    const rcode = typeof o.rcode === 'number' ? o.rcode : rcodeByName[String(o.rcode).toUpperCase()];
    if (rcode === undefined || !Number.isInteger(rcode)) return '"rcode" must be a number or a name such as NXDOMAIN';
    q.rcode = rcode;
  }
  if (o.answer_size !== undefined) {
    if (typeof o.answer_size !== 'number' || o.answer_size < 0) return '"answer_size" must be a non-negative number';
    q.answerSize = o.answer_size;
  }
  return q;
}

/** All queries of a JSONL text, in order, and the lines that were skipped with why. */
export function readQueryLog(text: string): { queries: LoggedQuery[]; problems: JsonlProblem[] } {
  const queries: LoggedQuery[] = [];
  const problems: JsonlProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const parsed = parseQueryLogLine(line);
    if (typeof parsed === 'string') problems.push({ line: i + 1, reason: parsed });
    else queries.push(parsed);
  }
  return { queries, problems };
}
