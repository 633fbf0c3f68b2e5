/**
 * Cache: a fresh entry answers here, and nothing after this stage runs (no upstream code, no
 * decode beyond the question). Answers coming back from upstream are stored on the way out.
 */
import type { PacketCache } from '../../cache/packet-cache.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

export class CacheStage implements Stage {
  readonly name = 'cache';
  hits = 0;
  misses = 0;

  constructor(public cache: PacketCache) {}

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    const now = Date.now();
    const ref = this.cache.lookup(ctx.questionKey, now);
    if (ref >= 0) {
      this.hits++;
      pipeline.respond(
        ctx,
        this.cache.answer(ref, ctx.request, ctx.query, now),
        ResponseType.CACHED,
        'packet cache hit',
      );
      return;
    }
    this.misses++;
    pipeline.next(ctx);
  }

  onResponse(ctx: QueryContext): void {
    if (ctx.responseType === ResponseType.ANSWERED && ctx.scan !== null && ctx.answer !== null) {
      this.cache.store(ctx.questionKey, ctx.answer, ctx.scan, Date.now());
    }
  }
}
