/**
 * One query in flight to one upstream. The wire copy carries our own random ID; the answer
 * is accepted only if its ID and question match it (RFC 5452), and its source is the
 * upstream's address and port (connected sockets enforce that in the kernel).
 */
import { scanResponse, type ScannedResponse } from '../dns/response-scanner.js';
import { HEADER_LENGTH } from '../dns/wire.js';
import { randomQueryId } from '../util/random-ids.js';

export type ExchangeOutcome = (
  ex: Exchange,
  error: string | null,
  answer: Buffer | null,
  scan: ScannedResponse | null,
) => void;

export class Exchange {
  id = 0;
  sentAt = 0;
  deadline = 0;
  viaTcp = false;
  /**
   * Set by the upstream when this try failed: whether the failure says the upstream is
   * unwell (an error, or a timeout with nothing else answered since). A refusal of our own
   * (no socket, in-flight limit) or a query the upstream ignored while answering others is
   * not held against it.
   */
  blameUpstream = false;
  timedOut = false;
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

/**
 * Random draws freeIdIn makes before giving up. Transports keep `pending` at most
 * maxInFlightPerSocket (default 4096, at most 16384: a quarter of the ID space), so each draw
 * is free with a chance of 3/4 or more and 32 draws all miss with a chance below 1e-19; with
 * the map full (65,536), the loop still ends.
 */
export const FREE_ID_TRIES = 32;

/** A free ID in `pending`, chosen at random; -1 when `tries` draws found none (the map is full or nearly). */
export function freeIdIn(pending: Map<number, Exchange>, draw: () => number, tries = FREE_ID_TRIES): number {
  for (let i = 0; i < tries; i++) {
    const id = draw();
    if (!pending.has(id)) return id;
  }
  return -1;
}

/** A free ID for one more query on a socket or connection holding `pending`; -1 when it already has `maxInFlight` (or no ID is free). */
export function claimId(pending: Map<number, Exchange>, maxInFlight: number): number {
  return pending.size < maxInFlight ? freeIdIn(pending, randomQueryId) : -1;
}

/** Why a transport refused to send (the query never left): the pool tries another upstream. */
export const IN_FLIGHT_LIMIT = 'in-flight limit reached';

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
