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
 *
 * Before the rate limit: dynamic blocks (defence.dynamicBlocks). Every query, cached or not and
 * over either transport, is counted per client prefix (client-traffic-counter.ts), and so is its
 * answer (rcode and bytes) on the way out; the main thread weighs the rules once a second
 * (src/defence/dynamic-blocks.ts) and sends the blocks back (setDynamicBlocks). A blocked prefix's
 * queries get the rule's answer here. Unlike the rate limit, a block holds over TCP too (a
 * proven address flooding over TCP is still a flood), except `truncate`, whose TC=1 sends honest
 * clients to TCP, where they are let through.
 */
import { randomBytes } from 'node:crypto';
import { ClientPrefixKeys, EXEMPT } from '../../defence/client-prefix-keys.js';
import { ClientTrafficCounter, type TrafficDeltas } from '../../defence/client-traffic-counter.js';
import { type DynamicBlockAction, type DynamicBlockEntry, DynamicBlockSet } from '../../defence/dynamic-block-set.js';
import type { DynamicBlockSettings } from '../../defence/dynamic-blocks.js';
import {
  ClientRateLimiter,
  type ClientRateLimiterCounters,
  type ClientRateLimits,
} from '../../defence/client-rate-limiter.js';
import { cookieLengthValid, withCookie, withoutAnswerCookie, withoutCookie } from '../../defence/cookie-option.js';
import { responseClass } from '../../defence/response-class.js';
import {
  ResponseRateLimiter,
  type ResponseRateLimiterCounters,
  type ResponseRateLimits,
  RrlVerdict,
} from '../../defence/response-rate-limiter.js';
import { SERVER_COOKIE_LENGTH, ServerCookies } from '../../defence/server-cookies.js';
import { buildMinimalAnyReply } from '../../dns/minimal-any-reply.js';
import { buildRcodeReply, buildTruncatedReply } from '../../dns/reply.js';
import { Flag, QType, Rcode } from '../../dns/wire.js';
import { ipv4Number } from '../../util/cidr.js';
import { ipBytes } from '../../util/ip-bytes.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

export type RateLimitAction = 'drop' | 'refused' | 'truncate';

export interface ClientRateSettings extends ClientRateLimits {
  enabled: boolean;
  action: RateLimitAction;
}

export interface ResponseRateSettings extends ResponseRateLimits {
  enabled: boolean;
}

export interface CookieSettings {
  enabled: boolean;
  /** 32 hex digits; without one, a random secret (each DefenceStage its own: a threaded server fills it in once, see cookie-secret.ts). */
  secret?: string;
  enforce: boolean;
}

/**
 * The parts after clientRate are optional so that a stage built for one part alone (a test, a
 * bench) need not name them: an absent part is off.
 */
export interface DefenceSettings {
  clientRate: ClientRateSettings;
  responseRate?: ResponseRateSettings;
  cookies?: CookieSettings;
  minimalAny?: boolean;
  dynamicBlocks?: DynamicBlockSettings;
}

export interface DefenceCounters {
  clientRate: ClientRateLimiterCounters & {
    enabled: boolean;
    action: RateLimitAction;
    /** UDP queries over their prefix's rate, by the action taken on them. */
    limited: Record<RateLimitAction, number>;
  };
  responseRate: ResponseRateLimiterCounters & {
    enabled: boolean;
    /** UDP answers over their (prefix, class) rate: dropped, or sent TC=1 (slip). */
    limited: { drop: number; slip: number };
    /** UDP answers to exempt addresses, and to clients that showed a valid server cookie. */
    exempted: number;
    cookieExempted: number;
  };
  cookies: {
    enabled: boolean;
    enforce: boolean;
    /** Queries by the cookie they carried: a client cookie alone, a valid or an invalid server cookie, a malformed option (FORMERR). */
    received: { clientOnly: number; valid: number; invalid: number; malformed: number };
    /** Answers that carried our server cookie; BADCOOKIE answers (enforce) among them. */
    sent: number;
    badCookie: number;
  };
  minimalAny: { enabled: boolean; answered: number };
  /** This data plane's half of dynamic blocks: prefixes counted, and queries answered by a block, by rule and action. */
  dynamicBlocks: {
    enabled: boolean;
    tracked: number;
    evictions: number;
    lost: number;
    exempted: number;
    blocked: Record<string, Partial<Record<DynamicBlockAction, number>>>;
  };
}

const RESPONSE_RATE_OFF: ResponseRateSettings = {
  enabled: false,
  responsesPerSecond: 1,
  window: 1000,
  slip: 0,
  ipv4Prefix: 24,
  ipv6Prefix: 56,
  exempt: [],
  maxTracked: 2,
};
/** A COOKIE option with a client and a server cookie: code, length, 8 + 16 bytes. */
const COOKIE_OPTION_LENGTH = 4 + 8 + SERVER_COOKIE_LENGTH;
const COOKIES_OFF: CookieSettings = { enabled: false, enforce: false };

export class DefenceStage implements Stage {
  readonly name = 'defence';
  readonly limiter: ClientRateLimiter;
  readonly responseLimiter: ResponseRateLimiter;
  readonly cookies: ServerCookies;
  private settings!: DefenceSettings;
  private responseRate: ResponseRateSettings = RESPONSE_RATE_OFF;
  private cookieSettings: CookieSettings = COOKIES_OFF;
  private minimalAny = false;
  private readonly limited: Record<RateLimitAction, number> = { drop: 0, refused: 0, truncate: 0 };
  private readonly rrl = { drop: 0, slip: 0, exempted: 0, cookieExempted: 0 };
  private readonly cookieCounts = { clientOnly: 0, valid: 0, invalid: 0, malformed: 0, sent: 0, badCookie: 0 };
  private minimalAnyAnswered = 0;
  /** Dynamic blocks: the traffic counter (null when off), the blocks in force, rare query types (1 = counted). */
  private traffic: ClientTrafficCounter | null = null;
  private dynamicKeys: ClientPrefixKeys | null = null;
  private dynamicSettings: DynamicBlockSettings | null = null;
  private readonly dynamicBlocks = new DynamicBlockSet();
  private readonly rareQtypes = new Uint8Array(65536);
  private readonly dynamicBlocked: Record<string, Partial<Record<DynamicBlockAction, number>>> = {};
  private dynamicExempted = 0;
  /** Built once per configuration: a flood of limited queries formats nothing. */
  private reason = '';
  private rrlDropReason = '';
  private rrlSlipReason = '';
  /** Our server cookie for the answer being finished, and a client's IPv4 address as bytes. */
  private readonly serverCookie = new Uint8Array(SERVER_COOKIE_LENGTH);
  private readonly v4 = new Uint8Array(4);

  constructor(settings: DefenceSettings) {
    this.limiter = new ClientRateLimiter(settings.clientRate);
    this.responseLimiter = new ResponseRateLimiter(settings.responseRate ?? RESPONSE_RATE_OFF);
    this.cookies = new ServerCookies(secretBytes(settings.cookies?.secret));
    this.configure(settings);
  }

  /** Applies a reloaded configuration; buckets survive unless the prefix lengths or maxTracked changed. */
  configure(settings: DefenceSettings): void {
    const first = this.settings === undefined;
    const c = settings.clientRate;
    this.limiter.configure(c);
    this.settings = settings;
    const what =
      c.action === 'drop' ? 'dropped' : c.action === 'refused' ? 'answered REFUSED' : 'answered TC=1 (retry over TCP)';
    this.reason = `client over its rate limit (${c.rate}/s, burst ${c.burst}, per IPv4 /${c.ipv4Prefix} or IPv6 /${c.ipv6Prefix}): ${what}`;
    this.responseRate = settings.responseRate ?? RESPONSE_RATE_OFF;
    // Off, it keeps two buckets rather than maxTracked: nothing allocated for a feature not used.
    this.responseLimiter.configure(this.responseRate.enabled ? this.responseRate : RESPONSE_RATE_OFF);
    const r = this.responseRate;
    const rrl = `over ${r.responsesPerSecond} identical answers/s to its IPv4 /${r.ipv4Prefix} or IPv6 /${r.ipv6Prefix} (response-rate limiting, window ${r.window / 1000} s)`;
    this.rrlDropReason = `${rrl}: dropped`;
    this.rrlSlipReason = `${rrl}: sent TC=1 (slip ${r.slip}) so a real client retries over TCP`;
    const previous = this.cookieSettings;
    this.cookieSettings = settings.cookies ?? COOKIES_OFF;
    // A reload rotates the secret when it changed (or, unset, when the server made a new random
    // one); the previous secret stays valid, so the cookies clients hold keep working.
    if (!first && this.cookieSettings.secret !== previous.secret)
      this.cookies.rotate(secretBytes(this.cookieSettings.secret));
    this.minimalAny = settings.minimalAny ?? false;
    this.configureDynamic(settings.dynamicBlocks);
  }

  /** A new counter when the prefixes or the bound changed (or it was off); the blocks come from the main thread. */
  private configureDynamic(d: DynamicBlockSettings | undefined): void {
    const old = this.dynamicSettings;
    if (d === undefined || !d.enabled) {
      this.traffic = null;
      this.dynamicKeys = null;
      this.dynamicSettings = null;
      this.dynamicBlocks.replace([]);
      return;
    }
    if (
      old === null ||
      this.traffic === null ||
      old.ipv4Prefix !== d.ipv4Prefix ||
      old.ipv6Prefix !== d.ipv6Prefix ||
      old.maxTracked !== d.maxTracked
    ) {
      const generation = this.traffic === null ? 0 : this.traffic.generation + 1;
      this.traffic = new ClientTrafficCounter(d.maxTracked);
      // Answers to queries counted by the counter before are not counted in this one.
      this.traffic.generation = generation;
      if (old !== null && (old.ipv4Prefix !== d.ipv4Prefix || old.ipv6Prefix !== d.ipv6Prefix))
        this.dynamicBlocks.replace([]);
    }
    this.dynamicKeys = new ClientPrefixKeys(d.ipv4Prefix, d.ipv6Prefix, d.exempt);
    this.rareQtypes.fill(0);
    for (const t of d.rareQtypes) this.rareQtypes[t] = 1;
    this.dynamicSettings = d;
  }

  /** The dynamic blocks in force, from the main thread's rules (every change sends the whole list). */
  setDynamicBlocks(entries: readonly DynamicBlockEntry[]): void {
    if (this.traffic !== null) this.dynamicBlocks.replace(entries);
  }

  /** Traffic per client prefix since the last take (null: nothing, or dynamic blocks off), for the main thread's rules. */
  takeTraffic(): TrafficDeltas | null {
    return this.traffic?.take() ?? null;
  }

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    // Dynamic blocks first: every query counts (cache hits too, and queries a block answers, so
    // that a block lasts while the flood does), then a prefix under a block gets its rule's answer.
    const traffic = this.traffic;
    if (traffic !== null) {
      const key = this.dynamicKeys!.keyOf(ctx.clientAddress);
      if (key === EXEMPT) this.dynamicExempted++;
      else {
        const slot = traffic.countQuery(key, this.rareQtypes[ctx.query.qtype] === 1);
        if (this.dynamicBlocks.size > 0) {
          const b = this.dynamicBlocks.find(key, ctx.startedAt);
          // TC=1 sends an honest client to TCP: a stream (TCP, TLS, HTTPS) is where a truncate block lets it through.
          if (b !== undefined && !(b.action === 'truncate' && ctx.transport !== 'udp')) {
            const byRule = (this.dynamicBlocked[b.rule] ??= {});
            byRule[b.action] = (byRule[b.action] ?? 0) + 1;
            ctx.addTrace(this.name, b.verdict, b.reason);
            this.answerBlocked(ctx, pipeline, b.action, b.reason, ResponseType.DYNAMIC_BLOCKED);
            return;
          }
        }
        ctx.dynamicSlot = slot;
        ctx.dynamicGeneration = traffic.generation;
      }
    }
    const c = this.settings.clientRate;
    // ctx.startedAt is the monotonic arrival time: no clock read per query, and one batch shares it.
    if (!c.enabled || ctx.transport !== 'udp' || this.limiter.allow(ctx.clientAddress, ctx.startedAt))
      return this.afterClientRate(ctx, pipeline);
    this.limited[c.action]++;
    ctx.addTrace(this.name, `rate-limited:${c.action}`, this.reason);
    this.answerBlocked(ctx, pipeline, c.action, this.reason, ResponseType.RATE_LIMITED);
  }

  /** A limited or blocked query's answer: none, REFUSED, TC=1 or NXDOMAIN, never larger than the query. */
  private answerBlocked(
    ctx: QueryContext,
    pipeline: PipelineControl,
    action: DynamicBlockAction,
    reason: string,
    type: ResponseType,
  ): void {
    switch (action) {
      case 'drop':
        pipeline.drop(ctx, reason, type);
        return;
      case 'refused':
        pipeline.respond(
          ctx,
          buildRcodeReply(ctx.request, ctx.query, Rcode.REFUSED, { withQuestion: true }),
          type,
          reason,
        );
        return;
      case 'nxdomain':
        pipeline.respond(
          ctx,
          buildRcodeReply(ctx.request, ctx.query, Rcode.NXDOMAIN, { withQuestion: true }),
          type,
          reason,
        );
        return;
      default:
        // No answer records and TC=1: the client has its answer a round trip later, over TCP.
        pipeline.respond(
          ctx,
          buildRcodeReply(ctx.request, ctx.query, Rcode.NOERROR, { withQuestion: true, extraFlags: Flag.TC }),
          type,
          reason,
        );
    }
  }

  /** Cookies, then ANY, for a query the client rate let through. */
  private afterClientRate(ctx: QueryContext, pipeline: PipelineControl): void {
    const q = ctx.query;
    if (q.cookieOffset >= 0) {
      const cookies = this.cookieSettings;
      if (cookies.enabled) {
        if (!cookieLengthValid(q.cookieLength)) {
          // RFC 7873 §5.2.2: a COOKIE option of a length no cookie has is a format error.
          this.cookieCounts.malformed++;
          ctx.addTrace(this.name, 'cookie-malformed', `COOKIE option of ${q.cookieLength - 4} bytes`);
          pipeline.respond(
            ctx,
            buildRcodeReply(ctx.request, q, Rcode.FORMERR, { withQuestion: true }),
            ResponseType.FORMERR,
            'malformed DNS COOKIE option',
          );
          return;
        }
        const at = q.cookieOffset + 4;
        // A copy: the client cookie goes back on the answer, and the request is replaced below.
        ctx.clientCookie = Buffer.from(ctx.request.subarray(at, at + 8));
        if (q.cookieLength === 12) {
          this.cookieCounts.clientOnly++;
        } else {
          const address = this.addressBytes(ctx.clientAddress);
          ctx.cookieValid =
            address !== undefined &&
            this.cookies.check(ctx.request, at, at + 8, q.cookieLength - 12, address, nowSeconds()) === 'valid';
          if (ctx.cookieValid) this.cookieCounts.valid++;
          else this.cookieCounts.invalid++;
          // RFC 7873 §5.2.3: BADCOOKIE (with a fresh server cookie, added on the way out) only
          // when told to enforce, and only over UDP: a TCP client's address is proven already.
          if (!ctx.cookieValid && cookies.enforce && ctx.transport === 'udp') {
            this.cookieCounts.badCookie++;
            ctx.request = withoutCookie(ctx.request, q);
            pipeline.respond(
              ctx,
              buildRcodeReply(ctx.request, q, Rcode.BADCOOKIE, { withQuestion: true }),
              ResponseType.BADCOOKIE,
              'invalid server cookie (defence.cookies.enforce): BADCOOKIE',
            );
            return;
          }
        }
      }
      // Never forwarded, cookies on or off: see cookie-option.ts.
      ctx.request = withoutCookie(ctx.request, q);
    }
    if (this.minimalAny && q.qtype === QType.ANY && ctx.transport === 'udp') {
      this.minimalAnyAnswered++;
      pipeline.respond(
        ctx,
        buildMinimalAnyReply(ctx.request, q),
        ResponseType.MINIMAL_ANY,
        'ANY over UDP answered minimally (RFC 8482)',
      );
      return;
    }
    pipeline.next(ctx);
  }

  /**
   * The answer on its way out, whoever made it (the cache, an upstream, policy, this stage):
   * response-rate limiting, then our server cookie. Here rather than in the pipeline's reply
   * step because the defence stage runs first, so its onResponse runs last of all stages: every
   * answer, cached ones included, passes it, after the cache has stored the upstream's answer
   * (without our cookie, which is per client) and before the reply step truncates it.
   */
  onResponse(ctx: QueryContext): void {
    const answer = ctx.answer;
    // Every answer of a counted query counts for dynamic blocks (its rcode and size), cached or not.
    if (ctx.dynamicSlot >= 0 && answer !== null)
      this.traffic?.countAnswer(ctx.dynamicSlot, ctx.dynamicGeneration, answer[3] & 0xf, answer.length);
    if (
      answer === null ||
      ctx.responseType === ResponseType.RATE_LIMITED ||
      ctx.responseType === ResponseType.DYNAMIC_BLOCKED
    )
      return;
    if (this.responseRate.enabled && ctx.transport === 'udp') {
      if (ctx.cookieValid) {
        this.rrl.cookieExempted++;
      } else {
        const cls = responseClass(ctx.request, ctx.query.qnameEnd, ctx.query.qtype, answer[3] & 0xf);
        const verdict = this.responseLimiter.check(ctx.clientAddress, cls, ctx.startedAt);
        if (verdict === RrlVerdict.EXEMPT) {
          this.rrl.exempted++;
        } else if (verdict === RrlVerdict.DROP) {
          this.rrl.drop++;
          ctx.addTrace(this.name, 'response-rate-limited:drop', this.rrlDropReason);
          ctx.responseType = ResponseType.RESPONSE_RATE_LIMITED;
          ctx.withhold = this.rrlDropReason;
          return;
        } else if (verdict === RrlVerdict.SLIP) {
          this.rrl.slip++;
          ctx.addTrace(this.name, 'response-rate-limited:slip', this.rrlSlipReason);
          ctx.answer = buildTruncatedReply(answer, ctx.request, ctx.query);
          ctx.responseType = ResponseType.RESPONSE_RATE_LIMITED;
          ctx.reason = this.rrlSlipReason;
        }
      }
    }
    // We forward no cookie, so an upstream should send none back; one that does anyway must not
    // hand its cookie to our client. The scan knows where the OPT is: no walk. (Cached copies of
    // such an answer keep it for clients without a cookie: upstreams that answer cookies nobody
    // sent are not worth a walk of every cache hit. For a client with one, ours replaces it.)
    const scan = ctx.scan;
    if (ctx.responseType === ResponseType.ANSWERED && scan !== null && scan.optOffset >= 0)
      ctx.answer = withoutAnswerCookie(ctx.answer!, scan.optOffset);
    const client = ctx.clientCookie;
    if (client === null || !this.cookieSettings.enabled) return;
    const address = this.addressBytes(ctx.clientAddress);
    // Over UDP, an answer our cookie would push past the client's payload goes without it:
    // truncating an answer that fits, to add a cookie, would cost the client a TCP round trip
    // (and an answer already too large is truncated anyway, with no room for options).
    if (
      address === undefined ||
      (ctx.transport === 'udp' && ctx.answer!.length + COOKIE_OPTION_LENGTH > ctx.query.udpPayload)
    )
      return;
    this.cookies.mint(client, 0, address, nowSeconds(), this.serverCookie, 0);
    const before = ctx.answer!;
    ctx.answer = withCookie(before, client, 0, this.serverCookie);
    if (ctx.answer !== before) this.cookieCounts.sent++;
  }

  counters(): DefenceCounters {
    const c = this.settings.clientRate;
    const k = this.cookieCounts;
    return {
      clientRate: { enabled: c.enabled, action: c.action, limited: { ...this.limited }, ...this.limiter.counters() },
      responseRate: {
        enabled: this.responseRate.enabled,
        limited: { drop: this.rrl.drop, slip: this.rrl.slip },
        exempted: this.rrl.exempted,
        cookieExempted: this.rrl.cookieExempted,
        ...this.responseLimiter.counters(),
      },
      cookies: {
        enabled: this.cookieSettings.enabled,
        enforce: this.cookieSettings.enforce,
        received: { clientOnly: k.clientOnly, valid: k.valid, invalid: k.invalid, malformed: k.malformed },
        sent: k.sent,
        badCookie: k.badCookie,
      },
      minimalAny: { enabled: this.minimalAny, answered: this.minimalAnyAnswered },
      dynamicBlocks: {
        enabled: this.traffic !== null,
        tracked: this.traffic?.tracked ?? 0,
        evictions: this.traffic?.evictions ?? 0,
        lost: this.traffic?.lost ?? 0,
        exempted: this.dynamicExempted,
        blocked: structuredClone(this.dynamicBlocked),
      },
    };
  }

  /** The client's address as the bytes a server cookie is made over (RFC 9018 §4.4): 4 for IPv4, 16 for IPv6; IPv4 allocates nothing. */
  private addressBytes(address: string): Uint8Array | undefined {
    const n = ipv4Number(address);
    if (n < 0) return ipBytes(address);
    const b = this.v4;
    b[0] = n >>> 24;
    b[1] = (n >>> 16) & 0xff;
    b[2] = (n >>> 8) & 0xff;
    b[3] = n & 0xff;
    return b;
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The configured secret, or a random one (see CookieSettings.secret). */
function secretBytes(hex: string | undefined): Uint8Array {
  return hex === undefined ? randomBytes(16) : Buffer.from(hex, 'hex');
}
