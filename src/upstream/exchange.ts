/**
 * One query in flight to one upstream. The wire copy carries our own random ID; the answer
 * is accepted only if its ID and question match it (RFC 5452), and its source is the
 * upstream's address and port (connected sockets enforce that in the kernel).
 */
import { scanResponse, type ScannedResponse } from '../dns/response-scanner.js';
import { HEADER_LENGTH } from '../dns/wire.js';

export type ExchangeOutcome = (ex: Exchange, error: string | null, answer: Buffer | null, scan: ScannedResponse | null) => void;

export class Exchange {
  id = 0;
  sentAt = 0;
  deadline = 0;
  viaTcp = false;
  constructor(
    /** Our copy of the client's query; its first two bytes are rewritten per send. */
    readonly wire: Buffer,
    readonly questionEnd: number,
    readonly onOutcome: ExchangeOutcome,
  ) {}

  setId(id: number): void {
    this.id = id;
    this.wire[0] = id >> 8;
    this.wire[1] = id & 0xff;
  }

  /**
   * Checks that `answer` answers this exchange's question (case-insensitively, since some
   * upstreams do not preserve 0x20 case; the client's case is restored when we reply).
   * Returns the scan, or a string saying why the answer is refused.
   */
  accept(answer: Buffer): ScannedResponse | string {
    if (answer.length < this.questionEnd) return 'answer shorter than the question';
    for (let i = HEADER_LENGTH; i < this.questionEnd; i++) {
      let a = answer[i];
      let b = this.wire[i];
      if (a >= 0x41 && a <= 0x5a) a |= 0x20;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (a !== b) return 'question does not match';
    }
    return scanResponse(answer);
  }
}

/** Removes and reports the exchanges whose deadline has passed. Maps iterate in insertion order. */
export function sweepExpired(pending: Map<number, Exchange>, now: number, onExpired: (ex: Exchange) => void): void {
  for (const [id, ex] of pending) {
    if (ex.deadline > now) continue;
    pending.delete(id);
    onExpired(ex);
  }
}

/** A free ID in `pending`, chosen at random. */
export function freeIdIn(pending: Map<number, Exchange>, draw: () => number): number {
  for (;;) {
    const id = draw();
    if (!pending.has(id)) return id;
  }
}

/** What a transport reports to its upstream. */
export interface TransportEvents {
  /** Returns false when the answer does not answer `ex` (wrong question): it is then ignored. */
  answer(ex: Exchange, answer: Buffer): boolean;
  failed(ex: Exchange, error: string): void;
  /** An answer whose ID or question matched nothing in flight (late, duplicate or spoofed). */
  mismatch(): void;
}

/**
 * Hands an answer to the exchange in `pending` with its ID. An answer to another question
 * leaves the exchange waiting, so a forged answer cannot cancel the real one.
 * Returns true when an exchange took it.
 */
export function deliverAnswer(pending: Map<number, Exchange>, msg: Buffer, events: TransportEvents): boolean {
  if (msg.length < 12) {
    events.mismatch();
    return false;
  }
  const ex = pending.get((msg[0] << 8) | msg[1]);
  if (ex === undefined) {
    events.mismatch();
    return false;
  }
  pending.delete(ex.id);
  if (events.answer(ex, msg)) return true;
  pending.set(ex.id, ex);
  return false;
}
