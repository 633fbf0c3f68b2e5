/**
 * Upstream: forward to the pool for the qname's zone. When no upstream answers, serve a
 * stale cache entry if one is at hand (RFC 8767), else SERVFAIL. The only stage that waits.
 */
import type { PacketCache } from '../../cache/packet-cache.js';
import { buildRcodeReply, stampClientIdentity, withExtendedError } from '../../dns/reply.js';
import type { ScannedResponse } from '../../dns/response-scanner.js';
import { ExtendedError, Rcode } from '../../dns/wire.js';
import type { Upstream } from '../../upstream/upstream.js';
import type { ZoneRouter } from '../../upstream/zone-router.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

export class UpstreamStage implements Stage {
  readonly name = 'upstream';
  staleServed = 0;
  private readonly done = (
    ctx: QueryContext,
    error: string | null,
    answer: Buffer | null,
    scan: ScannedResponse | null,
    upstream: Upstream | null,
  ) => this.onDone(ctx, error, answer, scan, upstream);

  constructor(
    public router: ZoneRouter,
    public cache: PacketCache,
    private readonly pipeline: PipelineControl,
  ) {}

  onQuery(ctx: QueryContext): void {
    const pool = this.router.poolFor(ctx.questionKey);
    // With every upstream of the pool down, a stale answer now beats a SERVFAIL after timeouts.
    if (pool.healthyCount === 0 && this.serveStale(ctx, `all upstreams of pool ${pool.options.name} are down`)) return;
    pool.resolve(ctx.request, ctx.query, ctx, this.done);
  }

  private onDone(
    ctx: QueryContext,
    error: string | null,
    answer: Buffer | null,
    scan: ScannedResponse | null,
    upstream: Upstream | null,
  ): void {
    if (error === null && answer !== null) {
      ctx.scan = scan;
      ctx.upstream = upstream?.name ?? '';
      stampClientIdentity(answer, ctx.request, ctx.query);
      this.pipeline.respond(ctx, answer, ResponseType.ANSWERED, `answered by ${ctx.upstream}`);
      return;
    }
    if (this.serveStale(ctx, `no upstream answered (${error})`)) return;
    const reply = buildRcodeReply(ctx.request, ctx.query, Rcode.SERVFAIL, {
      withQuestion: true,
      ede: { code: ExtendedError.NO_REACHABLE_AUTHORITY, text: 'dnsward: no upstream answered' },
    });
    this.pipeline.respond(ctx, reply, ResponseType.ERROR, `no upstream answered: ${error}`);
  }

  private serveStale(ctx: QueryContext, why: string): boolean {
    const stale = this.cache.lookupStale(ctx.questionKey, Date.now());
    if (stale === -1) return false;
    this.staleServed++;
    const answer = withExtendedError(this.cache.answerStale(stale, ctx.request, ctx.query), {
      code: ExtendedError.STALE_ANSWER,
      text: 'dnsward: serving stale data',
    });
    this.pipeline.respond(ctx, answer, ResponseType.STALE, `stale cache entry served: ${why}`);
    return true;
  }
}
