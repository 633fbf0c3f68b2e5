/**
 * Self-defence in the query path, first part: per-client rate limits (src/defence/). Every UDP
 * query, cached or not, takes a token from its client prefix's bucket before any other stage
 * works on it; a query over the limit is dropped, answered REFUSED, or answered TC=1 so an honest
 * client asks again over TCP (defence.clientRate.action).
 *
 * TCP is never limited, as BIND's response-rate limiting does not limit TCP: a TCP client has
 * completed a handshake, so its address is its own and cannot be forged to reflect answers at a
 * victim; TCP is where `truncate` sends honest clients, so limiting it too would take away the
 * way out it offers; and a TCP client's load is already bounded by the tcp section's per-client
 * connection and in-flight caps.
 *
 * Limited answers carry no Extended DNS Error: they go to an address that may be forged, so they
 * must stay no larger than the query (no amplification), and RFC 8914 has no code for a rate
 * limit (18, Prohibited, is an access-control refusal and would send an operator looking for an
 * ACL that is not there). The counters and the trace say why.
 */
import { ClientRateLimiter, type ClientRateLimiterCounters, type ClientRateLimits } from '../../defence/client-rate-limiter.js';
import { buildRcodeReply } from '../../dns/reply.js';
import { Flag, Rcode } from '../../dns/wire.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

export type RateLimitAction = 'drop' | 'refused' | 'truncate';

export interface ClientRateSettings extends ClientRateLimits {
  enabled: boolean;
  action: RateLimitAction;
}

export interface DefenceSettings {
  clientRate: ClientRateSettings;
}

export interface DefenceCounters {
  clientRate: ClientRateLimiterCounters & {
    enabled: boolean;
    action: RateLimitAction;
    /** UDP queries over their prefix's rate, by the action taken on them. */
    limited: Record<RateLimitAction, number>;
  };
}

export class DefenceStage implements Stage {
  readonly name = 'defence';
  readonly limiter: ClientRateLimiter;
  private settings!: DefenceSettings;
  private readonly limited: Record<RateLimitAction, number> = { drop: 0, refused: 0, truncate: 0 };
  /** Built once per configuration: a flood of limited queries formats nothing. */
  private reason = '';

  constructor(settings: DefenceSettings) {
    this.limiter = new ClientRateLimiter(settings.clientRate);
    this.configure(settings);
  }

  /** Applies a reloaded configuration; buckets survive unless the prefix lengths or maxTracked changed. */
  configure(settings: DefenceSettings): void {
    const c = settings.clientRate;
    this.limiter.configure(c);
    this.settings = settings;
    const what = c.action === 'drop' ? 'dropped' : c.action === 'refused' ? 'answered REFUSED' : 'answered TC=1 (retry over TCP)';
    this.reason = `client over its rate limit (${c.rate}/s, burst ${c.burst}, per IPv4 /${c.ipv4Prefix} or IPv6 /${c.ipv6Prefix}): ${what}`;
  }

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    const c = this.settings.clientRate;
    // ctx.startedAt is the monotonic arrival time: no clock read per query, and one batch shares it.
    if (!c.enabled || ctx.transport === 'tcp' || this.limiter.allow(ctx.clientAddress, ctx.startedAt)) return pipeline.next(ctx);
    this.limited[c.action]++;
    ctx.addTrace(this.name, `rate-limited:${c.action}`, this.reason);
    switch (c.action) {
      case 'drop':
        pipeline.drop(ctx, this.reason, ResponseType.RATE_LIMITED);
        return;
      case 'refused':
        pipeline.respond(ctx, buildRcodeReply(ctx.request, ctx.query, Rcode.REFUSED, { withQuestion: true }), ResponseType.RATE_LIMITED, this.reason);
        return;
      default:
        // No answer records and TC=1: the client has its answer a round trip later, over TCP.
        pipeline.respond(ctx, buildRcodeReply(ctx.request, ctx.query, Rcode.NOERROR, { withQuestion: true, extraFlags: Flag.TC }), ResponseType.RATE_LIMITED, this.reason);
    }
  }

  counters(): DefenceCounters {
    const c = this.settings.clientRate;
    return { clientRate: { enabled: c.enabled, action: c.action, limited: { ...this.limited }, ...this.limiter.counters() } };
  }
}
