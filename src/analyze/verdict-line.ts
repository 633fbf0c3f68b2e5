/**
 * One output line of `dnsward analyze`: the query and Tunnel Guard's verdict with its stage
 * trace, as JSON. Written by hand because `JSON.stringify` of the trace was a quarter of the
 * command's time: keys are known, most strings need no escaping, and a repeat's trace (most
 * lines) is a fixed text around its domain. The text is exactly what `JSON.stringify` of the
 * same object writes (`test/analyze/verdict-line.test.ts` compares them).
 */
import type { EvidenceValue, StageReport, Verdict } from '../guard/verdict.js';

export interface LineQuery {
  ts: number;
  client: string;
  qname: string;
  qtype: string;
}

/** A JSON string literal: the fast path when nothing needs escaping. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Quotes, backslashes, control characters and lone surrogates go through JSON.stringify.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function jsonNumber(n: number): string {
  // JSON.stringify writes a fraction about twice as fast as String() (the same digits).
  return Number.isSafeInteger(n) ? String(n) : Number.isFinite(n) ? JSON.stringify(n) : 'null';
}

function jsonValue(v: EvidenceValue): string {
  if (typeof v === 'number') return jsonNumber(v);
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return jsonStrings(v);
}

function jsonStrings(a: readonly string[]): string {
  if (a.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < a.length; i++) out += (i === 0 ? '' : ',') + jsonString(a[i]);
  return `${out}]`;
}

function jsonEvidence(e: Record<string, EvidenceValue>): string {
  let out = '{';
  let first = true;
  for (const key in e) {
    const v = e[key];
    // JSON.stringify leaves out undefined members (an optional evidence field not set).
    if (v === undefined) continue;
    out += `${first ? '' : ','}${jsonString(key)}:${jsonValue(v)}`;
    first = false;
  }
  return `${out}}`;
}

function jsonStages(stages: readonly StageReport[]): string {
  let out = '[';
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i];
    out += `${i === 0 ? '' : ','}{"name":${jsonString(s.name)},"score":${jsonNumber(s.score)},"evidence":${jsonEvidence(s.evidence)}}`;
  }
  return `${out}]`;
}

function head(q: LineQuery): string {
  return `{"ts":${jsonNumber(q.ts)},"client":${jsonString(q.client)},"qname":${jsonString(q.qname)},"qtype":${jsonString(q.qtype)}`;
}

/** The line for a name seen before: allow, the fixed trace of a repeat around its domain. */
export function repeatLine(q: LineQuery, domain: string): string {
  const d = jsonString(domain);
  return (
    `${head(q)},"domain":${d},"action":"allow","score":0,"reasons":[],"stages":[` +
    `{"name":"anatomy","score":0,"evidence":{"domain":${d}}},` +
    `{"name":"query","score":0,"evidence":{"newName":false}},` +
    `{"name":"state","score":0,"evidence":{}},` +
    `{"name":"normal","score":0,"evidence":{}},` +
    `{"name":"decision","score":0,"evidence":{"action":"allow","scope":"none"}}]}`
  );
}

export function verdictLine(q: LineQuery, v: Verdict): string {
  return (
    `${head(q)},"domain":${jsonString(v.domain)},"action":${jsonString(v.action)},"score":${jsonNumber(v.score)},` +
    `"reasons":${jsonStrings(v.reasons)},"stages":${jsonStages(v.stages)}}`
  );
}
