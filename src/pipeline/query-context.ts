/**
 * Everything the pipeline knows about one query, from the listener to the reply.
 * One object per query; stages fill in what they learn.
 */
import { emptyQuery, type ParsedQuery } from '../dns/query-parser.js';
import type { ScannedResponse } from '../dns/response-scanner.js';
import type { PolicyGroup } from '../policy/policy-engine.js';

/** What kind of answer the client got. Later stages add their own (blocked, …). */
export const ResponseType = {
  /** Forwarded to an upstream, which answered. */
  ANSWERED: 'answered',
  /** Served from the packet cache. */
  CACHED: 'cached',
  /** Served from an expired cache entry because no upstream answered (RFC 8767). */
  STALE: 'stale',
  /** Too large for the client's UDP payload: header and question with TC=1. */
  TRUNCATED: 'truncated',
  /** No upstream answered and nothing stale was at hand: SERVFAIL. */
  ERROR: 'error',
  /** The query was malformed: FORMERR (or BADVERS for an unknown EDNS version). */
  FORMERR: 'formerr',
  /** An opcode dnsward does not serve: NOTIMP. */
  NOTIMP: 'notimp',
  /** Tunnel Guard blocked the query or its domain. */
  BLOCKED: 'blocked',
  /** The client is quarantined by an operator. */
  QUARANTINED: 'quarantined',
  /** Not answered at all (not a query, or unanswerable). */
  DROPPED: 'dropped',
  /** The client's prefix was over its query rate: dropped, REFUSED or TC=1, as defence.clientRate.action says. */
  RATE_LIMITED: 'rate-limited',
  /** Response-rate limiting (defence.responseRate): too many identical answers to one prefix; dropped, or sent TC=1 (slip). */
  RESPONSE_RATE_LIMITED: 'response-rate-limited',
  /** A server cookie that is not ours, answered BADCOOKIE because defence.cookies.enforce says so. */
  BADCOOKIE: 'badcookie',
  /** An ANY query over UDP, answered with one HINFO "RFC8482" record (defence.minimalAny). */
  MINIMAL_ANY: 'minimal-any',
  /** The client's prefix is under a dynamic block (defence.dynamicBlocks): dropped, REFUSED, TC=1 or NXDOMAIN, as its rule says. */
  DYNAMIC_BLOCKED: 'dynamic-blocked',
  /**
   * A new name under a domain under a random-subdomain flood, over the new names it may send
   * upstream (defence.randomSubdomain): NXDOMAIN when the cache knows an ancestor does not exist
   * (RFC 8020), else SERVFAIL.
   */
  FLOOD_LIMITED: 'flood-limited',
  /** The name's zone (registered domain) had defence.randomSubdomain.maxZoneInFlight queries waiting on upstreams: SERVFAIL at once. */
  ZONE_LIMITED: 'zone-limited',
  /** While the data plane was overloaded, a cache miss of a client far above the others' share: REFUSED at once (defence.overload). */
  SHED: 'shed',
  /** Answered authoritatively from a local zone (zones:): records, a CNAME chain, NODATA or NXDOMAIN. */
  LOCAL_ZONE: 'local-zone',
} as const;
export type ResponseType = (typeof ResponseType)[keyof typeof ResponseType] | string;

/** How the query came: UDP, TCP, DNS over TLS (RFC 7858) or DNS over HTTPS (RFC 8484). */
export type Transport = 'udp' | 'tcp' | 'tls' | 'https';

/** One step of the query's journey, for explanations and events. */
export interface TraceStep {
  stage: string;
  verdict: string;
  detail?: string;
}

export interface ReplySink {
  /** The listener's address as configured (ADDR:PORT): policy groups can be chosen by listener. */
  readonly listenerKey: string;
  send(ctx: QueryContext, answer: Buffer): void;
  /** Called when the query ends without an answer (dropped). */
  drop(ctx: QueryContext): void;
}

export class QueryContext {
  readonly query: ParsedQuery = emptyQuery();
  /** Lower-cased wire qname + qtype + qclass + flags: the cache key, and the name stages match on. */
  questionKey = '';
  stageIndex = 0;
  responseType: ResponseType = ResponseType.DROPPED;
  reason = '';
  answer: Buffer | null = null;
  /** The upstream answer as scanned, when one came back. */
  scan: ScannedResponse | null = null;
  upstream = '';
  settled = false;
  trace: TraceStep[] | null = null;
  /**
   * Set by a stage's onResponse that rewrote the question (a redirect found in the answer): the
   * answer is not sent; the query goes on from the stage after that one, for the new question.
   */
  resumeAfterResponse = false;
  /**
   * The client's policy group once resolved (policy.groups; undefined: none), shared by the policy
   * stage and local-zone views so it is looked up once a query; `groupResolved` says whether it was.
   */
  policyGroup: PolicyGroup | undefined = undefined;
  groupResolved = false;
  /** The EDNS Client Subnet a trusted downstream resolver sent, when policy grouped the query by it. */
  clientSubnet: string | null = null;
  /** The client's DNS cookie (8 bytes), when it sent one: the answer carries it back with our server cookie. */
  clientCookie: Buffer | null = null;
  /** The query carried a server cookie we made for this client (RFC 7873): its address is not forged. */
  cookieValid = false;
  /**
   * Set by a stage's onResponse that decided the answer must not be sent (response-rate
   * limiting): the reason; the query ends dropped instead.
   */
  withhold: string | null = null;
  /** Where dynamic blocks counted this query's client (its answer is counted there too); -1: not counted. */
  dynamicSlot = -1;
  dynamicGeneration = 0;
  /** The flood stage's in-flight slot for this query's zone while it waits on an upstream (-1: none). */
  zoneSlot = -1;

  constructor(
    /** The client's query; replaced only while a question rewrite is in flight (see `rewrite`). */
    public request: Buffer,
    readonly transport: Transport,
    readonly clientAddress: string,
    readonly clientPort: number,
    readonly sink: ReplySink,
    /** Transport-specific handle (the TCP connection), opaque to the pipeline. */
    readonly connection: unknown,
    readonly startedAt: number,
  ) {}

  addTrace(stage: string, verdict: string, detail?: string): void {
    (this.trace ??= []).push({ stage, verdict, detail });
  }
}
