/**
 * Inputs of `dnsward analyze`, as one ordered stream of observations: pcap/pcapng captures (by
 * their magic number) or JSONL query logs (anything else). Queries become output lines;
 * responses are observations only. What cannot be read is counted, with the first few reasons.
 */
import { readFileSync } from 'node:fs';
import { readDnsMessage } from '../dns/message-summary.js';
import { parseQueryLogLine } from '../capture/jsonl-reader.js';
import { readCapture } from '../capture/pcap-reader.js';
import { labelsFromText } from '../guard/name-text.js';

export interface QueryRecord {
  kind: 'query';
  ts: number;
  client: string;
  labels: string[];
  qtype: number;
  /** From a JSONL line that also told how it was answered. */
  rcode?: number;
  answerSize?: number;
}

export interface ResponseRecord {
  kind: 'response';
  ts: number;
  client: string;
  labels: string[];
  qtype: number;
  rcode: number;
  answerSize: number;
  payloadBytes: number;
}

export type InputRecord = QueryRecord | ResponseRecord;

export interface InputProblems {
  malformedPackets: number;
  badLines: number;
  /** Multi-question messages. */
  skipped: number;
  /** Packets of a capture that were not DNS on port 53 (other traffic, or DNS on another port). */
  otherTraffic: number;
  tcpSplit: number;
  examples: string[];
}

const MAX_EXAMPLES = 5;

export function newProblems(): InputProblems {
  return { malformedPackets: 0, badLines: 0, skipped: 0, otherTraffic: 0, tcpSplit: 0, examples: [] };
}

function note(p: InputProblems, text: string): void {
  if (p.examples.length < MAX_EXAMPLES) p.examples.push(text);
}

export function isCapture(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const be = buf.readUInt32BE(0);
  const le = buf.readUInt32LE(0);
  return be === 0x0a0d0d0a || be === 0xa1b2c3d4 || be === 0xa1b23c4d || le === 0xa1b2c3d4 || le === 0xa1b23c4d;
}

/** Calls `emit` for every observation of `path`, in file order; `progress` gets the share read. */
export function readInput(
  path: string,
  problems: InputProblems,
  emit: (r: InputRecord) => void,
  progress?: (share: number) => void,
): 'capture' | 'jsonl' {
  const buf = readFileSync(path);
  if (isCapture(buf)) {
    readCaptureInput(path, buf, problems, emit);
    progress?.(1);
    return 'capture';
  }
  const text = buf.toString('utf8');
  let start = 0;
  let line = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    if ((line & 0xffff) === 0) progress?.(start / text.length);
    if (raw === '') continue;
    const q = parseQueryLogLine(raw);
    if (typeof q === 'string') {
      problems.badLines++;
      note(problems, `${path}:${line}: ${q}`);
      continue;
    }
    const record: QueryRecord = {
      kind: 'query',
      ts: q.ts,
      client: q.client,
      labels: labelsFromText(q.qname),
      qtype: q.qtype,
    };
    if (q.rcode !== undefined) record.rcode = q.rcode;
    if (q.answerSize !== undefined) record.answerSize = q.answerSize;
    emit(record);
  }
  progress?.(1);
  return 'jsonl';
}

function readCaptureInput(path: string, buf: Buffer, problems: InputProblems, emit: (r: InputRecord) => void): void {
  const capture = readCapture(buf);
  problems.malformedPackets += capture.malformed;
  problems.tcpSplit += capture.tcpSplit;
  problems.otherTraffic += capture.skipped;
  if (capture.skipped > 0)
    note(
      problems,
      `${path}: ${capture.skipped} of ${capture.packets} packets were not DNS on port 53 (DNS on another port is not read)`,
    );
  if (capture.malformed > 0) note(problems, `${path}: ${capture.malformed} records or headers cut short or malformed`);
  if (capture.unsupportedLinkTypes.length > 0)
    note(problems, `${path}: unsupported link types ${capture.unsupportedLinkTypes.join(', ')}`);
  for (const m of capture.messages) {
    const dns = readDnsMessage(m.message);
    if (typeof dns === 'string') {
      if (dns.endsWith('questions')) problems.skipped++;
      else {
        problems.malformedPackets++;
        note(problems, `${path}: DNS message from ${m.src} at ${m.ts}: ${dns}`);
      }
      continue;
    }
    if (dns.response)
      emit({
        kind: 'response',
        ts: m.ts,
        client: m.dst,
        labels: dns.labels,
        qtype: dns.qtype,
        rcode: dns.rcode,
        answerSize: dns.size,
        payloadBytes: dns.answerPayload,
      });
    else emit({ kind: 'query', ts: m.ts, client: m.src, labels: dns.labels, qtype: dns.qtype });
  }
}
