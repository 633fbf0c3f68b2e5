/**
 * A ring of query summaries from one I/O thread to the brain, in a SharedArrayBuffer: one
 * writer, one reader, no locks, no messages. The writer fills a fixed-size record in place
 * (no allocation) and publishes it by advancing `write`; the reader processes records up to it
 * and advances `read`. A full ring drops the new summary and counts it: an I/O thread never
 * waits for the brain (detection fails open, DNS does not).
 *
 * A record may ask the brain for a verdict (a held query, see guard-gate-stage.ts): the brain
 * writes the verdict into the record itself before advancing `read`, and wakes the writer
 * thread through `read` (Atomics.notify) when it says it is waiting.
 *
 * Sequence numbers are int32 and wrap; every comparison is on their difference.
 * Bounds: `capacity` records of RECORD_BYTES (default 32,768 × 352 B = 11 MiB per I/O thread).
 */

export const RECORD_BYTES = 352;
export const DEFAULT_RING_CAPACITY = 32_768;

import { waitAsync } from './wait-async.js';

const HEADER_BYTES = 64;
const H_WRITE = 0;
const H_READ = 1;
const H_DROPPED = 2;
/** Set by the writer while it waits for verdicts (the brain then notifies on `read`). */
const H_WAITING = 3;

/** Record layout (byte offsets). */
export const R = {
  KIND: 0, // u8: RecordKind
  TRANSPORT: 1, // u8: 0 udp, 1 tcp
  FLAGS: 2, // u8: RecordFlag bits
  RCODE: 3, // u8
  QTYPE: 4, // u16
  ANSWER_SIZE: 6, // u16
  TS: 8, // f64: wall time, ms since the epoch
  PAYLOAD: 16, // u16: answer payload bytes (TXT/NULL/CNAME data)
  VERDICT: 18, // u8: Verdict code, written by the brain for held queries
  VERDICT_TEXT: 20, // u16: length of the verdict's text, written over the name
  CLIENT_LENGTH: 22, // u8
  CLIENT: 24, // 46 bytes: the address as text (ASCII)
  NAME_LENGTH: 70, // u8: wire name length, root label included
  NAME: 72, // up to 255 bytes: the wire name as asked (also the verdict text's place)
} as const;
export const MAX_CLIENT = 46;
export const MAX_NAME = 255;

export const RecordKind = { QUERY: 1, ANSWER: 2 } as const;
export const RecordFlag = {
  /** The writer holds this query until the brain's verdict. */
  HOLD: 1,
  /** The I/O thread already answered it from the block table. */
  BLOCKED: 2,
  /** An ANSWER record only for the flood detector (a failure answer to a type Tunnel Guard does not read). */
  FAILURE: 4,
} as const;
/** The brain's verdict on a held query. */
export const VerdictCode = { PENDING: 0, ALLOW: 1, BLOCK: 2, QUARANTINE: 3, MONITOR: 4 } as const;

const encoder = new TextEncoder();
const scratch = new Uint8Array(1024);

export class SummaryRing {
  readonly capacity: number;
  private readonly header: Int32Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly mask: number;

  static allocate(capacity = DEFAULT_RING_CAPACITY): SharedArrayBuffer {
    if ((capacity & (capacity - 1)) !== 0 || capacity < 2)
      throw new Error(`ring capacity ${capacity} is not a power of two`);
    return new SharedArrayBuffer(HEADER_BYTES + capacity * RECORD_BYTES);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.capacity = (buffer.byteLength - HEADER_BYTES) / RECORD_BYTES;
    this.mask = this.capacity - 1;
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.view = new DataView(buffer, HEADER_BYTES);
  }

  get written(): number {
    return Atomics.load(this.header, H_WRITE);
  }

  get consumed(): number {
    return Atomics.load(this.header, H_READ);
  }

  get dropped(): number {
    return Atomics.load(this.header, H_DROPPED);
  }

  /** Records written and not yet consumed. */
  get depth(): number {
    return (Atomics.load(this.header, H_WRITE) - Atomics.load(this.header, H_READ)) | 0;
  }

  // ---- writer ----

  /**
   * The byte offset of the next free record, or -1 when the ring is full (the summary is
   * dropped and counted). Fill it, then commit().
   */
  claim(): number {
    const write = this.header[H_WRITE];
    if (((write - Atomics.load(this.header, H_READ)) | 0) >= this.capacity) {
      Atomics.add(this.header, H_DROPPED, 1);
      return -1;
    }
    return (write & this.mask) * RECORD_BYTES;
  }

  /** Publishes the claimed record; returns its sequence number. */
  commit(): number {
    const seq = this.header[H_WRITE];
    Atomics.store(this.header, H_WRITE, (seq + 1) | 0);
    return seq;
  }

  /** The record offset of a sequence number (for reading a held query's verdict). */
  offsetOf(seq: number): number {
    return (seq & this.mask) * RECORD_BYTES;
  }

  /** Whether the brain has processed `seq` (its verdict, if asked for, is in the record). */
  isConsumed(seq: number): boolean {
    return ((Atomics.load(this.header, H_READ) - seq) | 0) > 0;
  }

  /** Waits (without blocking the event loop) until `read` moves from `seen`, or `ms` pass. */
  waitForBrain(seen: number, ms: number): Promise<unknown> | null {
    Atomics.store(this.header, H_WAITING, 1);
    const waited = waitAsync(this.header, H_READ, seen, ms);
    return waited.async ? waited.value : null;
  }

  stopWaiting(): void {
    Atomics.store(this.header, H_WAITING, 0);
  }

  // ---- reader (the brain) ----

  /**
   * Calls `visit` with the offset of each unread record, oldest first, at most `max` of them;
   * advances `read` after the batch and wakes a waiting writer. Returns how many were read.
   */
  drain(visit: (offset: number) => void, max: number): number {
    const read = this.header[H_READ];
    const available = (Atomics.load(this.header, H_WRITE) - read) | 0;
    const n = Math.min(available, max);
    for (let i = 0; i < n; i++) visit(((read + i) & this.mask) * RECORD_BYTES);
    if (n > 0) {
      Atomics.store(this.header, H_READ, (read + n) | 0);
      if (Atomics.load(this.header, H_WAITING) === 1) Atomics.notify(this.header, H_READ);
    }
    return n;
  }

  // ---- field helpers, both sides ----

  writeAscii(offset: number, at: number, text: string, max: number): number {
    const n = Math.min(text.length, max);
    const base = offset + at;
    for (let i = 0; i < n; i++) this.bytes[base + i] = text.charCodeAt(i);
    return n;
  }

  /** UTF-8 text into a record (the brain's verdict text); returns the bytes written. */
  writeUtf8(offset: number, at: number, text: string, max: number): number {
    const { written } = encoder.encodeInto(text, scratch.subarray(0, max));
    this.bytes.set(scratch.subarray(0, written), offset + at);
    return written;
  }

  readUtf8(offset: number, at: number, length: number): string {
    return Buffer.from(this.buffer, HEADER_BYTES + offset + at, length).toString('utf8');
  }

  readLatin1(offset: number, at: number, length: number): string {
    return Buffer.from(this.buffer, HEADER_BYTES + offset + at, length).toString('latin1');
  }
}
