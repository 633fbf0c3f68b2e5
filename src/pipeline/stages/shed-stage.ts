/**
 * Overload shedding at the cache-miss point (src/defence/overload-shedder.ts): while this data
 * plane's event loop is behind, a cache miss of a client far above the others' share is refused
 * at once (REFUSED: a client with a second resolver asks it) instead of costing an upstream
 * query. Cache hits never reach this stage. Nothing happens while the plane keeps up.
 */
import type { OverloadShedder } from '../../defence/overload-shedder.js';
import { buildRcodeReply } from '../../dns/reply.js';
import { ExtendedError, Rcode } from '../../dns/wire.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

const TEXT = 'dnsward: overloaded; this client sends far more new names than the others';

export class ShedStage implements Stage {
  readonly name = 'shed';

  constructor(readonly shedder: OverloadShedder) {}

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    if (!this.shedder.onMiss(ctx.clientAddress, Date.now())) return pipeline.next(ctx);
    ctx.addTrace('shed', 'refused', TEXT);
    const reply = buildRcodeReply(ctx.request, ctx.query, Rcode.REFUSED, {
      withQuestion: true,
      ede: { code: ExtendedError.OTHER, text: TEXT },
    });
    pipeline.respond(ctx, reply, ResponseType.SHED, 'overload: cache miss of a client far above its share, refused');
  }
}
