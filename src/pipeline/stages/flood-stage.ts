/**
 * Random-subdomain flood mitigation and the per-zone cap on queries waiting on upstreams. Sits
 * after the cache and before upstream: names in the cache keep being answered whatever happens
 * here, and only queries that would reach an upstream are weighed.
 *
 * - A domain the detector flagged (src/flood/flood-detector.ts, off the query path) has a token
 *   bucket on this data plane (its share of the domain's allowed rate). A new name under it goes
 *   upstream while the bucket has tokens. Over it, the answer is NXDOMAIN when the cache holds an
 *   NXDOMAIN for an ancestor of the name at or below the registered domain (RFC 8020: nothing
 *   exists below a name that does not exist), else SERVFAIL with an RFC 8914 error saying why.
 *   SERVFAIL, not a drop: a drop makes stubs and downstream resolvers retry (and the legitimate
 *   ones among them wait for their timeout); not an unproven NXDOMAIN: that would be cached as
 *   the truth about a name that may exist; not REFUSED: a downstream resolver would take it as
 *   this server being lame. Downstream resolvers cache a SERVFAIL briefly (RFC 9520), which
 *   damps their retries. The domain itself is never blocked.
 * - Every query sent upstream counts against its zone's (registered domain's) slot while it
 *   waits; at `maxZoneInFlight` waiting, a new one for that zone gets SERVFAIL at once (counted),
 *   so one zone whose servers are slow or flooded cannot take every upstream slot from the
 *   others. Slots are a fixed table indexed by the zone's hash: zones that collide share a cap.
 *
 * Per query: one pass over the name's bytes (suffix hashes), one remembered PSL split, one probe
 * of the flags; no allocation unless the query is limited or its domain flagged (a trace step).
 * Bounds: ZONE_SLOTS counters; the flags table (src/flood/flood-flags.ts).
 */
import type { PacketCache } from '../../cache/packet-cache.js';
import { buildRcodeReply } from '../../dns/reply.js';
import { ExtendedError, HEADER_LENGTH, Rcode } from '../../dns/wire.js';
import { FloodFlags, type FloodBucket } from '../../flood/flood-flags.js';
import { ZoneFinder } from '../../flood/zone-finder.js';
import { suffixHashes, suffixOffsets } from '../../policy/name-hash.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

const ZONE_SLOTS = 4096;

export interface FloodSettings {
  enabled: boolean;
  mode: 'limit' | 'monitor';
  /** Queries waiting on upstreams per zone at most (per data plane); 0: no cap. */
  maxZoneInFlight: number;
}

export interface FloodStageCounters {
  /** New names of flagged domains over their rate, by the answer they got. */
  limited: { nxdomain: number; servfail: number };
  /** Over the rate in monitor mode: sent upstream anyway. */
  wouldLimit: number;
  /** New names of flagged domains within their rate: sent upstream. */
  passed: number;
  /** Queries answered SERVFAIL because their zone had maxZoneInFlight queries waiting. */
  zoneCapHits: number;
  /** Queries waiting on upstreams now, counted in zone slots. */
  zoneInFlight: number;
  /** Flagged domains this data plane limits. */
  flagged: number;
}

export class FloodStage implements Stage {
  readonly name = 'flood';
  readonly flags = new FloodFlags();
  private readonly zones = new ZoneFinder();
  private readonly inFlight = new Int32Array(ZONE_SLOTS);
  private readonly offsets = new Int32Array(128);
  private readonly hi = new Int32Array(128);
  private readonly lo = new Int32Array(128);
  private waiting = 0;
  private readonly counts = { nxdomain: 0, servfail: 0, wouldLimit: 0, passed: 0, zoneCapHits: 0 };

  constructor(
    private settings: FloodSettings,
    public cache: PacketCache,
  ) {}

  configure(settings: FloodSettings): void {
    this.settings = settings;
  }

  counters(): FloodStageCounters {
    const c = this.counts;
    return {
      limited: { nxdomain: c.nxdomain, servfail: c.servfail },
      wouldLimit: c.wouldLimit,
      passed: c.passed,
      zoneCapHits: c.zoneCapHits,
      zoneInFlight: this.waiting,
      flagged: this.flags.size,
    };
  }

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    const s = this.settings;
    if (!s.enabled) return pipeline.next(ctx);
    const request = ctx.request;
    const n = suffixOffsets(request, HEADER_LENGTH, this.offsets);
    if (n === 0) return pipeline.next(ctx);
    suffixHashes(request, this.offsets, n, this.hi, this.lo);
    const zone = this.zones.registeredIndex(request, HEADER_LENGTH, n, this.hi, this.lo);
    const hi = this.hi[zone];
    const lo = this.lo[zone];
    const bucket = this.flags.find(hi, lo);
    if (bucket !== null) {
      if (!bucket.take(performance.now())) {
        if (s.mode === 'limit') return this.limit(ctx, pipeline, bucket, zone);
        this.counts.wouldLimit++;
        ctx.addTrace('flood', 'would-limit', `${bucket.domain}: over ${round(bucket.rate)} new names/s (monitor mode)`);
      } else {
        this.counts.passed++;
        ctx.addTrace(
          'flood',
          'pass',
          `${bucket.domain} under a random-subdomain flood: within its ${round(bucket.rate)} new names/s`,
        );
      }
    }
    const cap = s.maxZoneInFlight;
    const slot = (hi ^ lo) & (ZONE_SLOTS - 1);
    if (cap > 0 && this.inFlight[slot] >= cap) {
      this.counts.zoneCapHits++;
      const text = `dnsward: ${cap} queries for this zone already wait on upstreams`;
      ctx.addTrace('flood', 'zone-cap', text);
      const reply = buildRcodeReply(request, ctx.query, Rcode.SERVFAIL, {
        withQuestion: true,
        ede: { code: ExtendedError.OTHER, text },
      });
      return pipeline.respond(
        ctx,
        reply,
        ResponseType.ZONE_LIMITED,
        `zone cap: ${cap} queries for its zone waiting on upstreams`,
      );
    }
    this.inFlight[slot]++;
    this.waiting++;
    ctx.zoneSlot = slot;
    pipeline.next(ctx);
  }

  onResponse(ctx: QueryContext): void {
    const slot = ctx.zoneSlot;
    if (slot < 0) return;
    ctx.zoneSlot = -1;
    this.inFlight[slot]--;
    this.waiting--;
  }

  private limit(ctx: QueryContext, pipeline: PipelineControl, bucket: FloodBucket, zone: number): void {
    const request = ctx.request;
    // RFC 8020: a cached NXDOMAIN for an ancestor (up to the registered domain) covers every
    // name below it. The cache key starts with the wire name, so an ancestor's key for the same
    // type, class and flags is a suffix of this query's key. Only the query's own type is
    // looked at: a packet cache keeps answers per type.
    const now = Date.now();
    for (let i = 1; i <= zone; i++) {
      const ref = this.cache.lookup(ctx.questionKey.slice(this.offsets[i] - HEADER_LENGTH), now);
      if (ref >= 0 && this.cache.rcodeOf(ref) === Rcode.NXDOMAIN) {
        this.counts.nxdomain++;
        const ancestor = presentSuffix(request, this.offsets[i]);
        const text = `dnsward: ${ancestor} does not exist (cached NXDOMAIN, RFC 8020); ${bucket.domain} is under a random-subdomain flood`;
        ctx.addTrace('flood', 'nxdomain', text);
        const reply = buildRcodeReply(request, ctx.query, Rcode.NXDOMAIN, {
          withQuestion: true,
          ede: { code: ExtendedError.OTHER, text },
        });
        return pipeline.respond(
          ctx,
          reply,
          ResponseType.FLOOD_LIMITED,
          `random-subdomain flood on ${bucket.domain}: NXDOMAIN from the cached NXDOMAIN of ${ancestor} (RFC 8020)`,
        );
      }
    }
    this.counts.servfail++;
    const text = `dnsward: random-subdomain flood against ${bucket.domain}: new names over ${round(bucket.rate)}/s`;
    ctx.addTrace('flood', 'limit', text);
    const reply = buildRcodeReply(request, ctx.query, Rcode.SERVFAIL, {
      withQuestion: true,
      ede: { code: ExtendedError.OTHER, text },
    });
    pipeline.respond(
      ctx,
      reply,
      ResponseType.FLOOD_LIMITED,
      `random-subdomain flood on ${bucket.domain}: new name over ${round(bucket.rate)}/s toward the upstreams`,
    );
  }
}

/** The suffix of the wire name at `start` in presentation form (limited queries only). */
function presentSuffix(buf: Uint8Array, start: number): string {
  const labels: string[] = [];
  let pos = start;
  while (pos < buf.length && buf[pos] !== 0 && buf[pos] <= 63 && labels.length < 128) {
    labels.push(
      Buffer.from(buf.buffer, buf.byteOffset + pos + 1, buf[pos])
        .toString('latin1')
        .toLowerCase(),
    );
    pos += buf[pos] + 1;
  }
  return labels.join('.');
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
