/**
 * Tunnel Guard in the query path: every query, cached or not, goes through the detector
 * (src/guard), which settles names seen before in a Bloom-filter check and weighs new ones.
 * In block mode a block verdict is answered here (a domain blocked for everyone or for this
 * client only answers the same way: NXDOMAIN, REFUSED or a sinkhole, with an
 * RFC 8914 "Blocked" error naming the reason and the incident); in monitor mode it is only
 * recorded. If the detector throws, the query goes on (fail open) and a counter says so.
 * Answers coming back are observations: rcode and the TXT/NULL/CNAME payload.
 */
import { keyNameLength } from '../../cache/cache-key.js';
import { readDnsMessage } from '../../dns/message-summary.js';
import { nameLabels } from '../../dns/name.js';
import { HEADER_LENGTH } from '../../dns/wire.js';
import { carriesPayload, isRepeatVerdict, type TunnelGuard } from '../../guard/tunnel-guard.js';
import { anatomize } from '../../guard/name-anatomy.js';
import type { FloodDetector } from '../../flood/flood-detector.js';
import { Rcode } from '../../dns/wire.js';
import type { Verdict } from '../../guard/verdict.js';
import { LatencyHistogram } from '../../util/histogram.js';
import { blockText } from '../../plane/block-text.js';
import { GuardAnswer, type GuardSettings } from './guard-answer.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

export type { GuardSettings } from './guard-answer.js';

/** Called with every verdict that is not a plain allow, after the decision; never changes it. */
export type VerdictSink = (ctx: QueryContext, verdict: Verdict, enforced: boolean) => void;

/** Detector time buckets, milliseconds (1 µs to 1 ms). */
const DETECTOR_BUCKETS_MS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/** What a block answer was for: a domain under block (for all, or for this client), one oversized query, a quarantined client. */
const BLOCK_REASON: Record<Verdict['scope'], string> = {
  domain: 'domain_blocked',
  'client-domain': 'client_domain_blocked',
  query: 'query_payload',
  client: 'client_quarantined',
  none: 'other',
};

export class GuardStage implements Stage {
  readonly name = 'guard';
  failOpen = 0;
  blocked = 0;
  wouldBlock = 0;
  monitored = 0;
  /** Time observe() took on names that were not plain repeats. */
  readonly detectorTime = new LatencyHistogram(DETECTOR_BUCKETS_MS);
  private readonly answers: GuardAnswer;

  /**
   * The random-subdomain flood detector, fed here with what the brain feeds it from the rings
   * with I/O threads: each new name's registered domain, and failure answers. Null: not fed.
   */
  flood: FloodDetector | null = null;

  constructor(
    public guard: TunnelGuard,
    private settings: GuardSettings,
    private readonly onVerdict: VerdictSink,
    private readonly onError: (error: unknown) => void,
  ) {
    this.answers = new GuardAnswer(settings);
  }

  configure(settings: GuardSettings): void {
    this.settings = settings;
    this.answers.configure(settings);
  }

  get mode(): GuardSettings['mode'] {
    return this.settings.mode;
  }

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    if (this.settings.mode === 'off') return pipeline.next(ctx);
    let verdict: Verdict;
    try {
      const wireKey = ctx.questionKey.slice(0, keyNameLength(ctx.questionKey));
      if (this.guard.isPlainRepeat(wireKey, ctx.clientAddress)) return pipeline.next(ctx);
      const started = performance.now();
      verdict = this.guard.observe({
        ts: epochSeconds(ctx),
        client: ctx.clientAddress,
        labels: nameLabels(ctx.request, HEADER_LENGTH),
        qtype: ctx.query.qtype,
        wireKey,
        explain: false,
      });
      this.detectorTime.observe(performance.now() - started);
      if (this.flood !== null && !isRepeatVerdict(verdict))
        this.flood.observeNewName(verdict.domain, ctx.clientAddress, epochSeconds(ctx));
    } catch (error) {
      this.failOpen++;
      this.onError(error);
      return pipeline.next(ctx);
    }
    if (verdict.action === 'allow' && verdict.reasons.length === 0) return pipeline.next(ctx);
    const enforce = verdict.action === 'block' && this.settings.mode === 'block';
    ctx.addTrace(
      'guard',
      enforce ? 'block' : verdict.action === 'block' ? 'would-block' : verdict.action,
      verdict.reasons[0],
    );
    this.onVerdict(ctx, verdict, enforce);
    if (!enforce) {
      if (verdict.action === 'block') {
        this.wouldBlock++;
        this.countBlock(verdict.scope, false);
      } else if (verdict.action === 'monitor') this.monitored++;
      return pipeline.next(ctx);
    }
    this.blocked++;
    this.countBlock(verdict.scope, true);
    const quarantine = verdict.scope === 'client';
    const { reply, text } = this.answers.reply(ctx, blockText(verdict.reasons[0], verdict.incident), quarantine);
    pipeline.respond(ctx, reply, quarantine ? ResponseType.QUARANTINED : ResponseType.BLOCKED, text);
  }

  private countBlock(scope: Verdict['scope'], enforced: boolean): void {
    this.answers.count(BLOCK_REASON[scope], enforced);
  }

  /** Block answers by reason (enforced or only reported), for dnsward_blocks_total. */
  blockCounts(): Array<{ stage: string; reason: string; enforced: boolean; count: number }> {
    return this.answers.counts(this.name);
  }

  onResponse(ctx: QueryContext): void {
    if (this.settings.mode === 'off' || ctx.answer === null) return;
    if (this.flood !== null && isFailure(ctx)) {
      try {
        this.flood.observeFailure(
          anatomize(nameLabels(ctx.request, HEADER_LENGTH).map((l) => l.toLowerCase())).registeredDomain,
          Date.now() / 1000,
        );
      } catch (error) {
        this.onError(error);
      }
    }
    if (ctx.responseType !== ResponseType.ANSWERED || !carriesPayload(ctx.query.qtype)) return;
    try {
      const message = readDnsMessage(ctx.answer);
      if (typeof message === 'string') return;
      this.guard.observeResponse({
        ts: epochSeconds(ctx),
        client: ctx.clientAddress,
        labels: message.labels,
        qtype: message.qtype,
        rcode: message.rcode,
        answerSize: message.size,
        payloadBytes: message.answerPayload,
      });
    } catch (error) {
      this.failOpen++;
      this.onError(error);
    }
  }
}

/**
 * An answer that tells the flood detector a name failed: NXDOMAIN or SERVFAIL from an upstream,
 * or no upstream answer at all. Never the flood stage's own answers (it would feed itself).
 */
export function isFailure(ctx: QueryContext): boolean {
  if (ctx.responseType === ResponseType.ERROR) return true;
  if (ctx.responseType !== ResponseType.ANSWERED || ctx.answer === null || ctx.answer.length < 4) return false;
  const rcode = ctx.answer[3] & 0x0f;
  return rcode === Rcode.NXDOMAIN || rcode === Rcode.SERVFAIL;
}

/** The engine's clock: wall time in seconds, from the query's monotonic start time. */
function epochSeconds(ctx: QueryContext): number {
  return (performance.timeOrigin + ctx.startedAt) / 1000;
}
