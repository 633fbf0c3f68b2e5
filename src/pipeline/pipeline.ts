/**
 * Runs queries through an ordered list of stages (see build-pipeline.ts for the order and
 * why), then the reply step, then the observers. Allocation-free per step: the position in
 * the chain lives on the query context.
 */
import { buildRcodeReply, buildTruncatedReply } from '../dns/reply.js';
import { Rcode } from '../dns/wire.js';
import { type QueryContext, ResponseType } from './query-context.js';
import type { Observer, PipelineControl, Stage } from './stage.js';

export interface PipelineErrorSink {
  (stage: string, error: unknown): void;
}

export class Pipeline implements PipelineControl {
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(
    readonly stages: readonly Stage[],
    readonly observers: readonly Observer[],
    private readonly onStageError: PipelineErrorSink,
  ) {}

  get queriesInFlight(): number {
    return this.inFlight;
  }

  start(ctx: QueryContext): void {
    this.inFlight++;
    ctx.stageIndex = 0;
    this.next(ctx);
  }

  next(ctx: QueryContext): void {
    const stage = this.stages[ctx.stageIndex++];
    if (stage === undefined) {
      this.fail(ctx, 'pipeline', new Error('no stage settled the query'));
      return;
    }
    try {
      stage.onQuery(ctx, this);
    } catch (error) {
      this.fail(ctx, stage.name, error);
    }
  }

  respond(ctx: QueryContext, answer: Buffer, type: string, reason: string): void {
    if (ctx.settled) return;
    ctx.answer = answer;
    ctx.responseType = type;
    ctx.reason = reason;
    for (let i = ctx.stageIndex - 1; i >= 0; i--) {
      const stage = this.stages[i];
      if (stage.onResponse === undefined) continue;
      try {
        stage.onResponse(ctx);
      } catch (error) {
        this.onStageError(stage.name, error);
      }
      if (ctx.resumeAfterResponse) {
        ctx.resumeAfterResponse = false;
        ctx.stageIndex = i + 1;
        this.next(ctx);
        return;
      }
    }
    if (ctx.withhold !== null) {
      // Nothing is sent: the observers (stats, dnstap, the query log) must not see an answer.
      ctx.answer = null;
      this.drop(ctx, ctx.withhold, ctx.responseType);
      return;
    }
    // The reply step: a UDP answer larger than the client's payload goes back truncated.
    const full = ctx.answer;
    let out = full;
    if (ctx.transport === 'udp' && full.length > ctx.query.udpPayload) {
      out = buildTruncatedReply(full, ctx.request, ctx.query);
      ctx.reason = `${full.length}-byte ${ctx.responseType} answer exceeds the client's ${ctx.query.udpPayload}-byte UDP payload`;
      ctx.responseType = ResponseType.TRUNCATED;
      ctx.answer = out;
    }
    ctx.settled = true;
    ctx.sink.send(ctx, out);
    this.finish(ctx);
  }

  drop(ctx: QueryContext, reason: string, type: string = ResponseType.DROPPED): void {
    if (ctx.settled) return;
    ctx.settled = true;
    ctx.responseType = type;
    ctx.reason = reason;
    ctx.sink.drop(ctx);
    this.finish(ctx);
  }

  /** Resolves once no query is in flight (or at once when none is). */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** A stage threw: the client gets SERVFAIL rather than silence, and the error is reported. */
  private fail(ctx: QueryContext, stage: string, error: unknown): void {
    this.onStageError(stage, error);
    if (ctx.settled) return;
    if (ctx.query.questionEnd === 0) return this.drop(ctx, `stage ${stage} failed before the question was parsed`);
    const reply = buildRcodeReply(ctx.request, ctx.query, Rcode.SERVFAIL, { withQuestion: true });
    this.respond(
      ctx,
      reply,
      ResponseType.ERROR,
      `stage ${stage} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  private finish(ctx: QueryContext): void {
    for (const observer of this.observers) {
      try {
        observer.observe(ctx);
      } catch (error) {
        this.onStageError(observer.name, error);
      }
    }
    if (--this.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }
}
