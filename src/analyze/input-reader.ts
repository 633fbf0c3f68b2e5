/**
 * Inputs of `dnsward analyze`, as one ordered stream of observations: pcap/pcapng captures (by
 * their magic number) or JSONL query logs (anything else). Queries become output lines;
 * responses are observations only. What cannot be read is counted, with the first few reasons.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
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

/** Longest JSONL line read; a longer one is counted as bad and skipped (no query needs 64 KiB). */
export const MAX_LINE_BYTES = 65536;
const CHUNK_BYTES = 1 << 20;

/**
 * Calls `emit` for every observation of `path`, in file order; `progress` gets the share read.
 * JSONL is read in chunks of 1 MiB, so memory does not grow with the file (a capture is read
 * whole: its reader needs the buffer).
 */
export function readInput(
  path: string,
  problems: InputProblems,
  emit: (r: InputRecord) => void,
  progress?: (share: number) => void,
): 'capture' | 'jsonl' {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const magic = Buffer.alloc(4);
    const got = readSync(fd, magic, 0, 4, 0);
    if (isCapture(magic.subarray(0, got))) {
      readCaptureInput(path, readFileSync(fd), problems, emit);
      progress?.(1);
      return 'capture';
    }
    readJsonl(path, fd, size, problems, emit, progress);
  } finally {
    closeSync(fd);
  }
  progress?.(1);
  return 'jsonl';
}

function readJsonl(
  path: string,
  fd: number,
  size: number,
  problems: InputProblems,
  emit: (r: InputRecord) => void,
  progress?: (share: number) => void,
): void {
  const buf = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
  let held = 0; // bytes of an unfinished line at the start of `buf`
  let skipping = false; // inside a line already too long, until its newline
  let position = 0;
  let line = 0;
  const tooLong = () => {
    problems.badLines++;
    note(problems, `${path}:${line}: line longer than ${MAX_LINE_BYTES} bytes`);
  };
  const onLine = (raw: string) => {
    line++;
    if ((line & 0xffff) === 0 && size > 0) progress?.(position / size);
    if (raw.length > MAX_LINE_BYTES) return tooLong();
    const text = raw.trim();
    if (text === '') return;
    const q = parseQueryLogLine(text);
    if (typeof q === 'string') {
      problems.badLines++;
      note(problems, `${path}:${line}: ${q}`);
      return;
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
  };
  for (;;) {
    const n = readSync(fd, buf, held, CHUNK_BYTES, position);
    position += n;
    if (n === 0) {
      if (!skipping && held > 0) onLine(buf.toString('utf8', 0, held));
      return;
    }
    const end = held + n;
    let start = 0;
    if (skipping) {
      const nl = buf.indexOf(0x0a, held);
      if (nl < 0) {
        held = 0;
        continue;
      }
      start = nl + 1;
      skipping = false;
    }
    // A newline byte is never inside a UTF-8 sequence: split on bytes, decode whole lines.
    const last = buf.lastIndexOf(0x0a, end - 1);
    if (last >= start) {
      const lines = buf.toString('utf8', start, last).split('\n');
      for (const l of lines) onLine(l);
      start = last + 1;
    }
    const rest = end - start;
    if (rest > MAX_LINE_BYTES) {
      line++;
      tooLong();
      skipping = true;
      held = 0;
    } else {
      buf.copy(buf, 0, start, end);
      held = rest;
    }
  }
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
