/**
 * Response policy in the query path: the client's group decides which feeds apply (see
 * src/policy/policy-engine.ts). A match is answered here, before Tunnel Guard, the cache and the
 * upstreams: NXDOMAIN, NODATA, REFUSED, a sinkhole address, no answer (DROP), or the rule's
 * local data, each with an RFC 8914 Extended DNS Error naming the category, feed and rule.
 * Monitor-mode groups only record what would have happened.
 */
import { decode as decodePacket, encode as encodePacket, type Packet } from 'dns-packet';
import { cacheKey } from '../../cache/cache-key.js';
import { clientSubnetAt } from '../../dns/client-subnet.js';
import { nameLabels, nameToWire, presentName } from '../../dns/name.js';
import { buildBlockReply, buildRcodeReply, MAX_EDE_TEXT } from '../../dns/reply.js';
import { ExtendedError, HEADER_LENGTH, qtypeName, Rcode } from '../../dns/wire.js';
import { matchAnswer } from '../../policy/answer-match.js';
import type { PolicyDecision, PolicyEngine, PolicyGroup } from '../../policy/policy-engine.js';
import { ipBytes } from '../../util/ip-bytes.js';
import { ParseOutcome, parseInto, type ParsedQuery } from '../../dns/query-parser.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

const QTYPE: Record<string, number> = { A: 1, CNAME: 5, TXT: 16, AAAA: 28 };

export type PolicySink = (ctx: QueryContext, decision: PolicyDecision) => void;

/**
 * A question this stage sent on for another name than the client asked (a local-data CNAME
 * followed to its target): the client's own question, put back before the answer leaves, with
 * what is needed to finish the answer. Kept by the stage, not in the query's context.
 */
export interface QuestionRewrite {
  request: Buffer;
  query: ParsedQuery;
  questionKey: string;
  /** The CNAME that leads from the client's name to the one asked instead. */
  cname: { ttl: number; target: string };
  /** The reason the answer keeps (its type is `blocked`), whatever the later stages say. */
  reason: string;
  ede: { code: number; text: string };
}

export class PolicyStage implements Stage {
  readonly name = 'policy';
  blocked = 0;
  wouldBlock = 0;
  errors = 0;
  private readonly byCategory = new Map<string, number>();
  private ipv4: Uint8Array;
  private ipv6: Uint8Array;
  private readonly groupOfQuery = (ctx: QueryContext) => this.groupOf(ctx);
  /** Redirects in flight; a query that never comes back is collected with its context. */
  private readonly rewrites = new WeakMap<QueryContext, QuestionRewrite>();

  constructor(
    public engine: PolicyEngine,
    sinkhole: { ipv4: string; ipv6: string },
    private readonly onDecision: PolicySink,
    private readonly onError: (error: unknown) => void,
  ) {
    this.ipv4 = ipBytes(sinkhole.ipv4) ?? new Uint8Array(4);
    this.ipv6 = ipBytes(sinkhole.ipv6) ?? new Uint8Array(16);
  }

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    if (!this.engine.active) return pipeline.next(ctx);
    let d: PolicyDecision | null;
    try {
      const client = this.engine.hasClientIpRules ? (ipBytes(ctx.clientAddress) ?? undefined) : undefined;
      d = this.engine.decideBytes(ctx.request, HEADER_LENGTH, this.groupOf(ctx), client);
    } catch (error) {
      // A policy failure lets the query through (fail open for DNS), counted and logged.
      this.errors++;
      this.onError(error);
      return pipeline.next(ctx);
    }
    if (d === null) return pipeline.next(ctx);
    const text = this.record(ctx, d, '');
    if (!d.enforced) return pipeline.next(ctx);
    if (d.action === 'drop') return pipeline.drop(ctx, text);
    if (d.action === 'local-data' && this.followCname(ctx, d, text)) return pipeline.next(ctx);
    pipeline.respond(ctx, this.blockReply(ctx, d, text), ResponseType.BLOCKED, text);
  }

  /**
   * Local data that is a CNAME (an RPZ redirect to a walled garden) is followed as a resolver
   * does: the query goes on through the guard, the cache and the upstreams for the target, and
   * the answer is the CNAME followed by the target's records (finishRewrite). A query for the
   * CNAME type itself gets the CNAME alone.
   */
  private followCname(ctx: QueryContext, d: PolicyDecision, text: string): boolean {
    const cname = d.match.records?.find((r) => r.type === 'CNAME');
    if (cname === undefined || ctx.query.qtype === QTYPE.CNAME || this.rewrites.has(ctx)) return false;
    const q = ctx.query;
    const request = Buffer.concat([
      ctx.request.subarray(0, HEADER_LENGTH),
      nameToWire(cname.data),
      ctx.request.subarray(q.qnameEnd),
    ]);
    const original = { ...q };
    if (parseInto(request, request.length, q, { reason: '' }) !== ParseOutcome.OK) {
      Object.assign(q, original);
      return false;
    }
    this.rewrites.set(ctx, {
      request: ctx.request,
      query: original,
      questionKey: ctx.questionKey,
      cname: { ttl: cname.ttl, target: cname.data },
      reason: text,
      ede: edeFor(d, text),
    });
    ctx.request = request;
    ctx.questionKey = cacheKey(request, q);
    ctx.addTrace('policy', 'follow-cname', `resolving the redirect target ${cname.data}`);
    return true;
  }

  /**
   * Puts the client's question back and answers it: the redirect's CNAME, then the target's
   * answer. The target's answer is checked as any answer is (its addresses against rpz-ip rules,
   * its own CNAMEs), and a match replaces it, as unbound does; the redirect itself is the
   * operator's, and its target name is not checked again (unbound does not either).
   */
  private finishRewrite(ctx: QueryContext, r: QuestionRewrite): void {
    this.rewrites.delete(ctx);
    let ede = r.ede;
    let reason = r.reason;
    if (this.isCheckedAnswer(ctx)) {
      try {
        const m = matchAnswer(this.engine, ctx.answer!, ctx.request, HEADER_LENGTH, this.groupOfQuery, ctx);
        if (m !== null) {
          const text = this.record(ctx, m.decision, m.via);
          if (m.decision.enforced) {
            // A second redirect is not followed: its local data is answered as it stands.
            this.replaceAnswer(ctx, m.decision, text);
            reason = text;
            ede = edeFor(m.decision, text);
          }
        }
      } catch (error) {
        this.errors++;
        this.onError(error);
      }
    }
    const target = ctx.answer;
    ctx.request = r.request;
    Object.assign(ctx.query, r.query);
    ctx.questionKey = r.questionKey;
    let inner: Packet | null = null;
    try {
      inner = target === null ? null : decodePacket(target);
    } catch {
      inner = null;
    }
    const name = presentName(nameLabels(ctx.request, HEADER_LENGTH));
    const cname = { name, type: 'CNAME', class: 'IN', ttl: r.cname.ttl, data: r.cname.target };
    ctx.answer = policyAnswer(
      ctx.query,
      name,
      [cname, ...(inner?.answers ?? [])],
      inner?.authorities ?? [],
      inner?.flags ?? 0x8180,
      ede,
    );
    ctx.responseType = ResponseType.BLOCKED;
    ctx.reason = reason;
  }

  /**
   * CNAME chains and answer addresses: an answer whose CNAME targets a blocked name (a tracker
   * behind a first-party alias, malware behind a CDN name), or whose A/AAAA records fall under a
   * response-IP (rpz-ip) rule, is blocked too, whether it came from an upstream or the cache.
   */
  onResponse(ctx: QueryContext): void {
    const rewrite = this.rewrites.get(ctx);
    if (rewrite !== undefined) return this.finishRewrite(ctx, rewrite);
    if (!this.isCheckedAnswer(ctx)) return;
    try {
      const m = matchAnswer(this.engine, ctx.answer!, ctx.request, HEADER_LENGTH, this.groupOfQuery, ctx);
      if (m === null) return;
      const d = m.decision;
      const text = this.record(ctx, d, m.via);
      if (!d.enforced) return;
      // Local data that is a CNAME (rpz-ip 'CNAME name.') is followed as for a name trigger,
      // from here: the answer is dropped and the query goes on for the target (as unbound does).
      if (d.action === 'local-data' && this.followCname(ctx, d, text)) {
        ctx.resumeAfterResponse = true;
        return;
      }
      this.replaceAnswer(ctx, d, text);
    } catch (error) {
      this.errors++;
      this.onError(error);
    }
  }

  /** An answer from an upstream, the cache or stale: what the response policy looks at. */
  private isCheckedAnswer(ctx: QueryContext): boolean {
    return (
      this.engine.active &&
      ctx.answer !== null &&
      (ctx.responseType === ResponseType.ANSWERED ||
        ctx.responseType === ResponseType.CACHED ||
        ctx.responseType === ResponseType.STALE)
    );
  }

  /**
   * The query's policy group: by the listener it came in on and by the client, which is the
   * source address or, from a trusted downstream resolver, the subnet its ECS option names.
   */
  groupOf(ctx: QueryContext): PolicyGroup | undefined {
    if (ctx.groupResolved) return ctx.policyGroup;
    ctx.groupResolved = true;
    ctx.policyGroup = this.resolveGroup(ctx);
    return ctx.policyGroup;
  }

  private resolveGroup(ctx: QueryContext): PolicyGroup | undefined {
    let client = ctx.clientAddress;
    if (ctx.query.ecsOffset >= 0 && this.engine.trustsClientSubnet(client)) {
      const subnet = clientSubnetAt(ctx.request, ctx.query.ecsOffset, ctx.query.ecsLength);
      if (subnet !== null) {
        client = subnet.address;
        ctx.clientSubnet = `${subnet.address}/${subnet.bits}`;
      }
    }
    return this.engine.groupOf(client, ctx.sink.listenerKey);
  }

  /** Replaces an answer the client's policy blocks (found in its CNAME chain or addresses) with the block answer. */
  private replaceAnswer(ctx: QueryContext, d: PolicyDecision, text: string): void {
    // DROP has no meaning once an answer exists: NXDOMAIN stands in for it.
    ctx.answer =
      d.action === 'drop'
        ? buildRcodeReply(ctx.request, ctx.query, Rcode.NXDOMAIN, { withQuestion: true })
        : this.blockReply(ctx, d, text);
    ctx.responseType = ResponseType.BLOCKED;
  }

  /** Counts, traces and reports a decision (enforced or only monitored); returns its explanation, the EDE text. */
  private record(ctx: QueryContext, d: PolicyDecision, via: string): string {
    const key = `${d.category}|${d.enforced}`;
    this.byCategory.set(key, (this.byCategory.get(key) ?? 0) + 1);
    const text =
      `Policy: ${via}${d.category} (${d.feed} ${d.version}) rule "${d.rule}" line ${d.line}, group ${d.group}${ctx.clientSubnet === null ? '' : ` (client subnet ${ctx.clientSubnet})`}`.slice(
        0,
        MAX_EDE_TEXT,
      );
    ctx.addTrace('policy', d.enforced ? d.action : `would-${d.action}`, text);
    ctx.reason = text;
    this.onDecision(ctx, d);
    if (d.enforced) this.blocked++;
    else this.wouldBlock++;
    return text;
  }

  /** The block answer for an enforced decision other than DROP. */
  private blockReply(ctx: QueryContext, d: PolicyDecision, text: string): Buffer {
    const ede = edeFor(d, text);
    if (d.action === 'local-data') return localDataReply(ctx.request, ctx.query, d, ede);
    // Any other action (nodata; passthru and drop never come here) is NODATA.
    const answer = d.action === 'nxdomain' || d.action === 'refused' || d.action === 'sinkhole' ? d.action : 'nodata';
    return buildBlockReply(ctx.request, ctx.query, answer, this.ipv4, this.ipv6, ede);
  }

  /** Blocks by category (enforced or only reported), for dnsward_blocks_total. */
  blockCounts(): Array<{ stage: string; reason: string; enforced: boolean; count: number }> {
    return [...this.byCategory].map(([key, count]) => {
      const [reason, enforced] = key.split('|');
      return { stage: this.name, reason, enforced: enforced === 'true', count };
    });
  }
}

function edeFor(d: PolicyDecision, text: string): { code: number; text: string } {
  return {
    code: d.category === 'ads' || d.category === 'adult' ? ExtendedError.FILTERED : ExtendedError.BLOCKED,
    text,
  };
}

/** A policy answer to `name` with these records (rare path: encoded with dns-packet), the EDE in its OPT when the query had EDNS. */
function policyAnswer(
  query: ParsedQuery,
  name: string,
  answers: unknown[],
  authorities: unknown[],
  flags: number,
  ede: { code: number; text: string },
): Buffer {
  const eded = Buffer.concat([Buffer.from([ede.code >> 8, ede.code & 0xff]), Buffer.from(ede.text)]);
  const packet = {
    id: query.id,
    type: 'response' as const,
    // The client's RD bit; the rest (AA, RA, the rcode) as given.
    flags: (flags & ~0x0100) | (query.flags & 0x0100),
    questions: [{ name, type: qtypeName(query.qtype), class: 'IN' }],
    answers,
    authorities,
    additionals: query.edns
      ? [
          {
            name: '.',
            type: 'OPT',
            udpPayloadSize: 1232,
            flags: query.dnssecOk ? 0x8000 : 0,
            options: [{ code: 15, data: eded }],
          },
        ]
      : [],
  };
  return encodePacket(packet as never);
}

/**
 * The rule's local data for this query: records of the query's type (or a CNAME, which answers
 * any type); none of them is NODATA. Rare path: encoded with dns-packet.
 */
function localDataReply(
  request: Buffer,
  query: ParsedQuery,
  d: PolicyDecision,
  ede: { code: number; text: string },
): Buffer {
  const name = presentName(nameLabels(request, HEADER_LENGTH));
  const records = (d.match.records ?? []).filter((r) => r.type === 'CNAME' || QTYPE[r.type] === query.qtype);
  const cname = records.find((r) => r.type === 'CNAME');
  const answers = (cname ? [cname] : records).map((r) => ({
    name,
    type: r.type,
    class: 'IN',
    ttl: r.ttl,
    data: r.type === 'TXT' ? [r.data] : r.data,
  }));
  return policyAnswer(query, name, answers, [], 0x8080, ede);
}
