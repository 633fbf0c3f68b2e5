import type { QueryContext } from './query-context.js';

/**
 * The contract every stage keeps. `onQuery` either settles the query (`pipeline.respond` or
 * `pipeline.drop`) or passes it on with `pipeline.next`, now or later (the upstream stage
 * answers asynchronously). `onResponse` sees the answer on its way back out, innermost stage
 * first, before it is sent; having rewritten the question, it may set `ctx.resumeAfterResponse`
 * to send the query on from the next stage instead (an RPZ redirect found in the answer).
 */
export interface Stage {
  readonly name: string;
  onQuery(ctx: QueryContext, pipeline: PipelineControl): void;
  onResponse?(ctx: QueryContext): void;
}

/** Runs after the reply is sent: counters, logs and (later) events. Never changes the answer. */
export interface Observer {
  readonly name: string;
  observe(ctx: QueryContext): void;
}

export interface PipelineControl {
  next(ctx: QueryContext): void;
  respond(ctx: QueryContext, answer: Buffer, type: string, reason: string): void;
  /** Ends the query without an answer; `type` (default `dropped`) says why, e.g. `rate-limited`. */
  drop(ctx: QueryContext, reason: string, type?: string): void;
}
