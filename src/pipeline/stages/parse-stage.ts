/**
 * Parse: header, question and OPT only (src/dns/query-parser.ts). Malformed queries end
 * here with FORMERR, NOTIMP or BADVERS, or are dropped when there is nobody to answer;
 * every case is counted by reason.
 */
import { cacheKey } from '../../cache/cache-key.js';
import { ParseOutcome } from '../../dns/query-parser.js';
import { parseInto } from '../../dns/query-parser.js';
import { buildRcodeReply } from '../../dns/reply.js';
import { Rcode } from '../../dns/wire.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

export class ParseStage implements Stage {
  readonly name = 'parse';
  /** Malformed queries by reason (bounded: the reasons are a fixed set of templates). */
  readonly malformed = new Map<string, number>();
  private reason = { reason: '' };

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    const outcome = parseInto(ctx.request, ctx.request.length, ctx.query, this.reason);
    if (outcome === ParseOutcome.OK) {
      ctx.questionKey = cacheKey(ctx.request, ctx.query);
      pipeline.next(ctx);
      return;
    }
    const reason = this.reason.reason;
    const template = reason.replace(/\d+/g, 'N');
    this.malformed.set(template, (this.malformed.get(template) ?? 0) + 1);
    ctx.addTrace(this.name, 'malformed', reason);
    switch (outcome) {
      case ParseOutcome.DROP:
        pipeline.drop(ctx, reason);
        return;
      case ParseOutcome.NOTIMP:
        pipeline.respond(
          ctx,
          buildRcodeReply(ctx.request, ctx.query, Rcode.NOTIMP, { withQuestion: false }),
          ResponseType.NOTIMP,
          reason,
        );
        return;
      case ParseOutcome.BADVERS:
        pipeline.respond(
          ctx,
          buildRcodeReply(ctx.request, ctx.query, Rcode.BADVERS, { withQuestion: true }),
          ResponseType.FORMERR,
          reason,
        );
        return;
      default: {
        // The question is echoed only when it parsed completely.
        const reply = buildRcodeReply(ctx.request, ctx.query, Rcode.FORMERR, {
          withQuestion: ctx.query.questionEnd > 0,
        });
        pipeline.respond(ctx, reply, ResponseType.FORMERR, reason);
      }
    }
  }
}
