/**
 * Local zones in the query path: a name inside a configured zone is answered here,
 * authoritatively (AA=1), and never reaches Tunnel Guard, the cache or an upstream
 * (see src/zones/zone-answer.ts for what an answer holds). Other names pass on untouched.
 */
import { keyNameLength } from '../../cache/cache-key.js';
import type { LocalZone } from '../../zones/local-zone.js';
import { answerFromZone, findZone, type ZoneSet, ZoneVerdict } from '../../zones/zone-answer.js';
import { ZoneHealth } from '../../zones/zone-health.js';
import { type QueryContext, ResponseType } from '../query-context.js';
import type { PipelineControl, Stage } from '../stage.js';

const QCLASS_IN = 1;
const QCLASS_ANY = 255;

export class ZoneStage implements Stage {
  readonly name = 'zone';
  /** Answers by verdict, for metrics. */
  readonly counts: Record<ZoneVerdict, number> = {
    answer: 0,
    cname: 0,
    wildcard: 0,
    nodata: 0,
    nxdomain: 0,
    refused: 0,
  };
  /** The reason text per zone and verdict, made once per load, not per query. */
  private reasons = new Map<string, Record<ZoneVerdict, string>>();
  /** Health checks of the zones' balanced targets; replaced with the zones. */
  health: ZoneHealth = new ZoneHealth([]);
  private running = false;
  /** The query whose zone is being found (views are checked against it; one query at a time on a thread). */
  private current: QueryContext | null = null;
  /** A zone with a view did not admit the current query. */
  private skipped = false;
  /** Queries a zone's view did not admit (they went on as if the zone did not exist). */
  outsideView = 0;

  constructor(
    private zones: ZoneSet,
    /** The query's policy group name (policy.groups), for views by group. */
    private readonly groupOf: (ctx: QueryContext) => string | undefined = () => undefined,
  ) {
    this.setZones(zones);
  }

  /** Whether a zone's view admits the current query: its listener, then its group (looked up only when needed). */
  private readonly admits = (zone: LocalZone): boolean => {
    const v = zone.view!;
    const ctx = this.current!;
    let ok = v.listeners === null || v.listeners.has(ctx.sink.listenerKey);
    if (ok && v.groups !== null) {
      const group = this.groupOf(ctx);
      ok = group !== undefined && v.groups.has(group);
    }
    if (!ok) this.skipped = true;
    return ok;
  };

  /** Replaces the zones served (a reload); queries in flight already have their answer. */
  setZones(zones: ZoneSet): void {
    const reasons = new Map<string, Record<ZoneVerdict, string>>();
    for (const [key, zone] of zones) {
      const name = zone.name === '' ? '.' : zone.name;
      reasons.set(key, {
        answer: `local zone ${name}: answer`,
        cname: `local zone ${name}: CNAME chain`,
        wildcard: `local zone ${name}: wildcard answer`,
        nodata: `local zone ${name}: NODATA (SOA in authority)`,
        nxdomain: `local zone ${name}: NXDOMAIN (SOA in authority)`,
        refused: `local zone ${name}: zone transfers are not served`,
      });
    }
    this.zones = zones;
    this.reasons = reasons;
    this.health.stop();
    this.health = new ZoneHealth([...zones.values()].flatMap((z) => z.balances));
    if (this.running) this.health.start();
  }

  start(): void {
    this.running = true;
    this.health.start();
  }

  stop(): void {
    this.running = false;
    this.health.stop();
  }

  get zoneCount(): number {
    return this.zones.size;
  }

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    if (this.zones.size === 0) return pipeline.next(ctx);
    const q = ctx.query;
    if (q.qclass !== QCLASS_IN && q.qclass !== QCLASS_ANY) return pipeline.next(ctx);
    const key = ctx.questionKey;
    const nameKey = key.slice(0, keyNameLength(key));
    this.current = ctx;
    this.skipped = false;
    const zone = findZone(this.zones, nameKey, this.admits);
    this.current = null;
    if (this.skipped) {
      this.outsideView++;
      if (zone === null)
        ctx.addTrace(
          this.name,
          'outside-view',
          'local zone: the view of the zone holding the name does not admit this client or listener',
        );
    }
    if (zone === null) return pipeline.next(ctx);
    const { answer, verdict } = answerFromZone(zone, ctx.request, q, nameKey);
    this.counts[verdict]++;
    const reason = this.reasons.get(zone.key)![verdict];
    ctx.addTrace(this.name, verdict, reason);
    pipeline.respond(ctx, answer, ResponseType.LOCAL_ZONE, reason);
  }
}
