/**
 * Tunnel Guard on an I/O thread: the detector itself runs in the brain (src/plane/brain.ts);
 * here every query costs a look-up in the shared block table and a summary appended to this
 * thread's ring, both allocation-free. A blocked domain or client is answered here at once,
 * from the table, as the brain wrote it.
 *
 * First contact: a new name whose shape a tunnel needs (a long label, a long name, or a query
 * type that carries payload) is held until the brain has weighed it, so a bulk tunnel is cut
 * within a few queries as it would be inline; every other name goes on at once. A hold is
 * bounded: HOLD_LIMIT queries at a time and `holdTimeout` each; past either, the query goes on
 * (fail open) and is counted. Names seen before never wait: the brain settles them in a Bloom
 * filter, and a plain repeat of a held shape costs the same bounded wait at most.
 */
import { readDnsMessage } from '../../dns/message-summary.js';
import { HEADER_LENGTH } from '../../dns/wire.js';
import { carriesPayload } from '../../guard/tunnel-guard.js';
import { BlockHit, type BlockTable, QUARANTINE } from '../../plane/block-table.js';
import type { Doorbell } from '../../plane/doorbell.js';
import type { SeenFilterReader } from '../../plane/seen-filter-reader.js';
import {
  MAX_CLIENT,
  MAX_NAME,
  R,
  RecordFlag,
  RecordKind,
  type SummaryRing,
  VerdictCode,
} from '../../plane/summary-ring.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';
import { GuardAnswer } from './guard-answer.js';
import { type GuardSettings, isFailure } from './guard-stage.js';

export interface GateSettings extends GuardSettings {
  /** How long a first-contact query may wait for the brain, ms. */
  holdTimeout: number;
  /** The brain feeds the random-subdomain flood detector: failure answers of every type go to the ring too. */
  floodFeed?: boolean;
}

/** Queries held at once per I/O thread; more go on unheld (counted). */
const HOLD_LIMIT = 4096;
/** A label this long, or a name this long (wire bytes), is a shape tunnels need. */
const LONG_LABEL = 20;
const LONG_NAME = 60;

interface Held {
  ctx: QueryContext;
  pipeline: PipelineControl;
  seq: number;
  at: number;
}

export class GuardGateStage implements Stage {
  readonly name = 'guard';
  blocked = 0;
  wouldBlock = 0;
  /** First-contact queries held for the brain's verdict, and those of them that went on unweighed. */
  held = 0;
  holdTimeouts = 0;
  holdsRefused = 0;
  /** Plain repeats settled here (seen before, by this client): never handed to the brain. */
  repeats = 0;
  /** Summaries the ring had no room for (the brain is behind): those queries went unweighed. */
  get summariesDropped(): number {
    return this.ring.dropped;
  }
  private readonly hit = new BlockHit();
  private holds: Held[] = [];
  private waiting = false;
  private readonly answers: GuardAnswer;

  constructor(
    private readonly table: BlockTable,
    private readonly ring: SummaryRing,
    private readonly doorbell: Doorbell,
    private settings: GateSettings,
    private readonly seen: SeenFilterReader | null = null,
  ) {
    this.answers = new GuardAnswer(settings);
  }

  configure(settings: GateSettings): void {
    this.settings = settings;
    this.answers.configure(settings);
  }

  get mode(): GuardSettings['mode'] {
    return this.settings.mode;
  }

  get holding(): number {
    return this.holds.length;
  }

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    if (this.settings.mode === 'off') return pipeline.next(ctx);
    const now = Date.now();
    const kind = this.table.lookup(ctx.request, HEADER_LENGTH, ctx.clientAddress, now / 1000, this.hit);
    if (kind !== 0) {
      this.summarise(ctx, now, RecordFlag.BLOCKED);
      return this.enforce(
        ctx,
        pipeline,
        kind === QUARANTINE ? VerdictCode.QUARANTINE : VerdictCode.BLOCK,
        this.hit.reasonText(),
        kind === QUARANTINE ? 'client' : 'domain',
      );
    }
    if (
      this.seen !== null &&
      this.seen.isPlainRepeat(ctx.request, HEADER_LENGTH, ctx.query.qnameEnd, ctx.clientAddress)
    ) {
      this.repeats++;
      return pipeline.next(ctx);
    }
    const hold = this.settings.mode === 'block' && this.settings.holdTimeout > 0 && this.looksLikeTunnel(ctx);
    if (hold && this.holds.length >= HOLD_LIMIT) this.holdsRefused++;
    const seq = this.summarise(ctx, now, hold && this.holds.length < HOLD_LIMIT ? RecordFlag.HOLD : 0);
    if (seq === -1 || !hold || this.holds.length >= HOLD_LIMIT) return pipeline.next(ctx);
    this.held++;
    this.holds.push({ ctx, pipeline, seq, at: performance.now() });
    this.waitForBrain();
  }

  onResponse(ctx: QueryContext): void {
    if (this.settings.mode === 'off' || ctx.answer === null) return;
    if (ctx.responseType !== ResponseType.ANSWERED || !carriesPayload(ctx.query.qtype)) {
      if (this.settings.floodFeed === true && isFailure(ctx)) this.summariseFailure(ctx);
      return;
    }
    const message = readDnsMessage(ctx.answer);
    if (typeof message === 'string') return;
    const offset = this.ring.claim();
    if (offset === -1) return;
    this.fill(offset, ctx, Date.now(), RecordKind.ANSWER, 0);
    const v = this.ring.view;
    v.setUint8(offset + R.RCODE, message.rcode);
    v.setUint16(offset + R.ANSWER_SIZE, Math.min(message.size, 0xffff), true);
    v.setUint16(offset + R.PAYLOAD, Math.min(message.answerPayload, 0xffff), true);
    this.ring.commit();
    this.doorbell.ring(false, this.ring.depth);
  }

  /** A failure answer's summary, for the flood detector only: its name and rcode (SERVFAIL when no upstream answered). */
  private summariseFailure(ctx: QueryContext): void {
    const offset = this.ring.claim();
    if (offset === -1) return;
    this.fill(offset, ctx, Date.now(), RecordKind.ANSWER, RecordFlag.FAILURE);
    this.ring.view.setUint8(offset + R.RCODE, ctx.responseType === ResponseType.ERROR ? 2 : ctx.answer![3] & 0x0f);
    this.ring.commit();
    this.doorbell.ring(false, this.ring.depth);
  }

  /** Block answers by reason (enforced or only reported), for dnsward_blocks_total. */
  blockCounts(): Array<{ stage: string; reason: string; enforced: boolean; count: number }> {
    return this.answers.counts(this.name);
  }

  /**
   * The cheap inline check: constant work over the name's bytes, no allocation. A tunnel
   * carries its payload in long labels or in a payload-carrying query type.
   */
  private looksLikeTunnel(ctx: QueryContext): boolean {
    const q = ctx.query;
    const qtype = q.qtype;
    if (qtype === 10 || qtype === 16 || qtype === 25 || qtype === 255 || qtype >= 65280) return true;
    if (q.qnameEnd - HEADER_LENGTH >= LONG_NAME) return true;
    const request = ctx.request;
    let pos = HEADER_LENGTH;
    while (pos < q.qnameEnd) {
      const len = request[pos];
      if (len === 0 || len > 63) break;
      if (len >= LONG_LABEL) return true;
      pos += len + 1;
    }
    return false;
  }

  /** Appends the query's summary to the ring; its sequence number, or -1 when the ring was full. */
  private summarise(ctx: QueryContext, now: number, flags: number): number {
    const offset = this.ring.claim();
    if (offset === -1) return -1;
    this.fill(offset, ctx, now, RecordKind.QUERY, flags);
    const seq = this.ring.commit();
    this.doorbell.ring((flags & RecordFlag.HOLD) !== 0, this.ring.depth);
    return seq;
  }

  private fill(offset: number, ctx: QueryContext, now: number, kind: number, flags: number): void {
    const v = this.ring.view;
    const bytes = this.ring.bytes;
    v.setUint8(offset + R.KIND, kind);
    v.setUint8(offset + R.TRANSPORT, ctx.transport === 'udp' ? 0 : 1);
    v.setUint8(offset + R.FLAGS, flags);
    v.setUint16(offset + R.QTYPE, ctx.query.qtype, true);
    v.setFloat64(offset + R.TS, now, true);
    v.setUint8(offset + R.VERDICT, VerdictCode.PENDING);
    v.setUint8(offset + R.CLIENT_LENGTH, this.ring.writeAscii(offset, R.CLIENT, ctx.clientAddress, MAX_CLIENT));
    // The name as asked (case kept: the brain's character model reads it), from the request.
    const length = Math.min(ctx.query.qnameEnd - HEADER_LENGTH, MAX_NAME);
    const request = ctx.request;
    const at = offset + R.NAME;
    // A byte loop, not set(subarray()): a view per query would be an allocation per query.
    for (let i = 0; i < length; i++) bytes[at + i] = request[HEADER_LENGTH + i];
    v.setUint8(offset + R.NAME_LENGTH, length);
  }

  private waitForBrain(): void {
    if (this.waiting) return;
    this.waiting = true;
    const waited = this.ring.waitForBrain(this.ring.consumed, this.settings.holdTimeout);
    if (waited === null) {
      // The brain moved on already: release from a microtask, never inside the caller's stage.
      queueMicrotask(() => {
        this.waiting = false;
        this.releaseReady();
      });
      return;
    }
    void waited.then(() => {
      this.waiting = false;
      this.releaseReady();
    });
  }

  /** Lets held queries go on (or answers them blocked) once the brain weighed them; fails open after the timeout. */
  private releaseReady(): void {
    const now = performance.now();
    // Verdicts are read first, all of them: a query sent on below may write a summary into a
    // record slot the brain has just freed.
    const ready: Array<{ h: Held; verdict: number; text: string }> = [];
    const still: Held[] = [];
    for (const h of this.holds) {
      if (this.ring.isConsumed(h.seq)) {
        const offset = this.ring.offsetOf(h.seq);
        const verdict = this.ring.view.getUint8(offset + R.VERDICT);
        const textLength = this.ring.view.getUint16(offset + R.VERDICT_TEXT, true);
        ready.push({
          h,
          verdict,
          text:
            verdict === VerdictCode.BLOCK || verdict === VerdictCode.QUARANTINE
              ? this.ring.readUtf8(offset, R.NAME, textLength)
              : '',
        });
      } else if (now - h.at >= this.settings.holdTimeout) {
        this.holdTimeouts++;
        ready.push({ h, verdict: VerdictCode.PENDING, text: '' });
      } else still.push(h);
    }
    this.holds = still;
    if (still.length === 0) this.ring.stopWaiting();
    for (const { h, verdict, text } of ready) {
      if (h.ctx.settled) continue;
      if (verdict === VerdictCode.BLOCK || verdict === VerdictCode.QUARANTINE)
        this.enforce(h.ctx, h.pipeline, verdict, text, verdict === VerdictCode.QUARANTINE ? 'client' : 'query');
      else h.pipeline.next(h.ctx);
    }
    if (still.length > 0) this.waitForBrain();
  }

  private enforce(
    ctx: QueryContext,
    pipeline: PipelineControl,
    verdict: number,
    text: string,
    scope: 'client' | 'domain' | 'query',
  ): void {
    const enforce = this.settings.mode === 'block';
    const reason = scope === 'client' ? 'client_quarantined' : scope === 'domain' ? 'domain_blocked' : 'query_payload';
    this.answers.count(reason, enforce);
    ctx.addTrace('guard', enforce ? 'block' : 'would-block', text);
    if (!enforce) {
      this.wouldBlock++;
      return pipeline.next(ctx);
    }
    this.blocked++;
    const quarantine = verdict === VerdictCode.QUARANTINE;
    const answer = this.answers.reply(ctx, text, quarantine);
    pipeline.respond(ctx, answer.reply, quarantine ? ResponseType.QUARANTINED : ResponseType.BLOCKED, answer.text);
  }
}
