/**
 * The random-subdomain ("water torture") flood detector: per registered domain, across all
 * clients, the rate of new names (names the node had not seen) and of failure answers (NXDOMAIN
 * and SERVFAIL from upstream, or no answer at all), each compared with that domain's own learned
 * normal. Nothing to tune: the normal is an EWMA of the per-second counts, learned only while
 * the domain is not flagged (a flood must not teach itself normal), and FLOOR keeps a quiet
 * domain from being flagged by a handful of names.
 *
 * Onset: in one second, new names ≥ max(floor, ONSET_FACTOR × normal) and failures ≥
 * max(floor / 2, ONSET_FACTOR × normal failures) (the failures of this second or the one before:
 * answers arrive after their queries). A domain tracked for less than YOUNG_SECONDS has no
 * normal yet (after a restart, or the first time it is seen): its onset is ONSET_FACTOR times
 * max(floor, normal) and max(floor / 2, normal failures), its normal is a running mean (after
 * YOUNG_PRIOR_SECONDS of nothing), and flagged it may send `floor` upstream, so a
 * busy legitimate domain (a DNSBL at 50 new names and NXDOMAINs a second) is learned, not flagged
 * and then held under a limit it never drops below; a flood of a fresh domain is flagged once it
 * reaches ten times the floor. Flagged, the domain may send new names upstream at
 * max(floor, ALLOW_FACTOR × normal) per second: well under the onset rate, so the limit bites, and
 * never under what the domain normally needs. End: QUIET_SECONDS seconds in a row below half the
 * onset rate of new names.
 *
 * Runs off the query path: on the main thread, fed by the brain from the I/O threads' summary
 * rings (threaded), or by the inline Tunnel Guard stage (`threads: 0`). No clock of its own:
 * `tick(now)` closes a second; an observation that brings its time along can flag a domain the
 * moment it reaches its onset, rather than at the end of the second (`onOnset`).
 *
 * Bounds: at most `maxDomains` domains tracked (a Map; ~150 B each, 10,000 by default: ~1.5 MiB).
 * A domain idle until its normal decays below IDLE_NORMAL is forgotten at the next tick; when the
 * table is full, a new domain takes the place of the least busy of the EVICT_SAMPLE oldest entries
 * (never a flagged one), so a heavy hitter stays tracked while a long tail of one-name domains
 * churns (a Space-Saving-like choice in O(1) per insertion); when those are all flagged the new
 * domain is not tracked and counted. At most MAX_FLOODS domains flagged at once (more counted).
 */

/** New names a second below which no domain is ever flagged, and the least it may send upstream while flagged. */
export const DEFAULT_FLOOR = 20;
export const ONSET_FACTOR = 10;
export const ALLOW_FACTOR = 2;
/** EWMA weight of each second: a time constant of five minutes. */
export const NORMAL_ALPHA = 1 / 300;
export const QUIET_SECONDS = 10;
/** Seconds a domain is tracked before its normal counts as learned. */
export const YOUNG_SECONDS = 60;
const YOUNG_PRIOR_SECONDS = 10;
export const MAX_FLOODS = 256;
const IDLE_NORMAL = 0.01;
const EVICT_SAMPLE = 8;
/** Bits of the per-second distinct-client sketch (linear counting). */
const CLIENT_BITS = 64;

export interface FloodState {
  domain: string;
  /** Seconds since the epoch. */
  since: number;
  /** New names a second the domain may send upstream (the whole node). */
  allowedRate: number;
  /** The domain's normal new names and failures a second when the flood began. */
  normalNewNames: number;
  normalFailures: number;
  /** The onset second: its new names, failures and (about) distinct clients. */
  onsetNewNames: number;
  onsetFailures: number;
  onsetClients: number;
  /** The busiest second since onset. */
  peakNewNames: number;
  /** New names and failures seen in the last closed second. */
  lastNewNames: number;
  lastFailures: number;
  /** New names seen while flagged. */
  newNames: number;
}

interface DomainRate {
  newNames: number;
  failures: number;
  previousFailures: number;
  clientsLo: number;
  clientsHi: number;
  normalNew: number;
  normalFail: number;
  /** Seconds this domain has been tracked (its normal is young before a few). */
  seconds: number;
  quiet: number;
  flood: FloodState | null;
}

export interface FloodChange {
  kind: 'detected' | 'ended';
  flood: FloodState;
  /** Seconds since the epoch. */
  at: number;
  /** The onset (or the end) in words, for the event and the log. */
  reasons: string[];
}

export interface FloodDetectorCounters {
  detected: number;
  ended: number;
  /** New domains not tracked because the table was full of flagged ones. */
  untracked: number;
  /** Onsets not flagged because MAX_FLOODS were flagged already. */
  floodsOverLimit: number;
  evicted: number;
}

export interface FloodDetectorOptions {
  floor?: number;
  maxDomains?: number;
}

export class FloodDetector {
  private readonly domains = new Map<string, DomainRate>();
  private readonly floods = new Map<string, FloodState>();
  floor: number;
  maxDomains: number;
  readonly counters: FloodDetectorCounters = { detected: 0, ended: 0, untracked: 0, floodsOverLimit: 0, evicted: 0 };

  constructor(options: FloodDetectorOptions = {}) {
    this.floor = options.floor ?? DEFAULT_FLOOR;
    this.maxDomains = options.maxDomains ?? 10_000;
  }

  get tracked(): number {
    return this.domains.size;
  }

  /** The domains flagged now. */
  active(): FloodState[] {
    return [...this.floods.values()];
  }

  isFlooded(domain: string): boolean {
    return this.floods.size > 0 && this.floods.has(domain);
  }

  /**
   * Called when a flood is flagged in the middle of a second (an observation with its time
   * reached the onset): the data planes need not wait for the tick.
   */
  onOnset: ((change: FloodChange) => void) | null = null;

  /**
   * A new name under `domain` (registered domain, lower case) from `client`. With `now`
   * (seconds since the epoch), a domain that reaches its onset is flagged at once.
   */
  observeNewName(domain: string, client: string, now?: number): void {
    const d = this.entry(domain);
    if (d === undefined) return;
    d.newNames++;
    const h = clientBit(client);
    if (h < 32) d.clientsLo |= 1 << h;
    else d.clientsHi |= 1 << (h - 32);
    if (now !== undefined && d.flood === null) this.checkOnset(domain, d, now);
  }

  /** A failure answer (NXDOMAIN or SERVFAIL from upstream, or none at all) for a name under `domain`. */
  observeFailure(domain: string, now?: number): void {
    const d = this.domains.get(domain);
    // Failures alone never start tracking: a domain shows up here only with new names.
    if (d === undefined) return;
    d.failures++;
    if (now !== undefined && d.flood === null) this.checkOnset(domain, d, now);
  }

  /** New names a second that flag `d`: ten times its normal, or (young) ten times the floor or its running mean. */
  private onsetNew(d: DomainRate): number {
    return d.seconds < YOUNG_SECONDS
      ? ONSET_FACTOR * Math.max(this.floor, d.normalNew)
      : Math.max(this.floor, ONSET_FACTOR * d.normalNew);
  }

  private onsetFail(d: DomainRate): number {
    return d.seconds < YOUNG_SECONDS
      ? ONSET_FACTOR * Math.max(this.floor / 2, d.normalFail)
      : Math.max(this.floor / 2, ONSET_FACTOR * d.normalFail);
  }

  private checkOnset(domain: string, d: DomainRate, now: number): void {
    const onsetNew = this.onsetNew(d);
    if (d.newNames < onsetNew) return;
    const onsetFail = this.onsetFail(d);
    const failures = Math.max(d.failures, d.previousFailures);
    // Over MAX_FLOODS: the tick counts it.
    if (failures < onsetFail || this.floods.size >= MAX_FLOODS) return;
    const change = this.start(domain, d, now, onsetNew, onsetFail, failures, true);
    this.onOnset?.(change);
  }

  /** Closes the current second at `now` (seconds since the epoch); returns the floods that began or ended. */
  tick(now: number): FloodChange[] {
    const changes: FloodChange[] = [];
    for (const [name, d] of this.domains) {
      const onsetNew = this.onsetNew(d);
      const onsetFail = this.onsetFail(d);
      const failures = Math.max(d.failures, d.previousFailures);
      if (d.flood === null) {
        if (d.newNames >= onsetNew && failures >= onsetFail) {
          if (this.floods.size >= MAX_FLOODS) this.counters.floodsOverLimit++;
          else changes.push(this.start(name, d, now, onsetNew, onsetFail, failures, false));
        }
        // Normal is learned only outside floods, and an onset second does not teach it.
        if (d.flood === null) {
          // A running mean while young (over YOUNG_PRIOR_SECONDS of nothing first, so that the
          // first, partial second of a flood does not become its normal), then an EWMA.
          const alpha = Math.max(NORMAL_ALPHA, 1 / (d.seconds + 1 + YOUNG_PRIOR_SECONDS));
          d.normalNew += alpha * (d.newNames - d.normalNew);
          d.normalFail += alpha * (d.failures - d.normalFail);
        }
      } else {
        const f = d.flood;
        f.lastNewNames = d.newNames;
        f.lastFailures = d.failures;
        f.newNames += d.newNames;
        if (d.newNames > f.peakNewNames) f.peakNewNames = d.newNames;
        d.quiet = d.newNames < onsetNew / 2 ? d.quiet + 1 : 0;
        if (d.quiet >= QUIET_SECONDS) changes.push(this.end(name, d, now));
      }
      d.previousFailures = d.failures;
      d.newNames = 0;
      d.failures = 0;
      d.clientsLo = 0;
      d.clientsHi = 0;
      d.seconds++;
      if (d.flood === null && d.normalNew < IDLE_NORMAL && d.normalFail < IDLE_NORMAL && d.previousFailures === 0)
        this.domains.delete(name);
    }
    return changes;
  }

  /** What the detector knows of a domain (console, `dnsward floods`, tests). */
  describe(domain: string): {
    normalNewNames: number;
    normalFailures: number;
    tracked: boolean;
    flood: FloodState | null;
  } {
    const d = this.domains.get(domain);
    return {
      normalNewNames: d?.normalNew ?? 0,
      normalFailures: d?.normalFail ?? 0,
      tracked: d !== undefined,
      flood: d?.flood ?? null,
    };
  }

  /** Flags `d`. `early`: in the middle of a second, whose counts the tick then adds to the flood's. */
  private start(
    name: string,
    d: DomainRate,
    now: number,
    onsetNew: number,
    onsetFail: number,
    failures: number,
    early: boolean,
  ): FloodChange {
    const clients = estimateClients(d.clientsLo, d.clientsHi);
    // A young normal is not trusted to widen the limit: a flood's own first moments may be in it.
    const allowedRate = d.seconds < YOUNG_SECONDS ? this.floor : Math.max(this.floor, ALLOW_FACTOR * d.normalNew);
    const flood: FloodState = {
      domain: name,
      since: now,
      allowedRate,
      normalNewNames: d.normalNew,
      normalFailures: d.normalFail,
      onsetNewNames: d.newNames,
      onsetFailures: failures,
      onsetClients: clients,
      peakNewNames: early ? 0 : d.newNames,
      lastNewNames: d.newNames,
      lastFailures: failures,
      newNames: early ? 0 : d.newNames,
    };
    d.flood = flood;
    d.quiet = 0;
    this.floods.set(name, flood);
    this.counters.detected++;
    return {
      kind: 'detected',
      flood,
      at: now,
      reasons: [
        `random-subdomain flood against ${name}: ${d.newNames} new names ${early ? 'within' : 'in'} one second from about ${clients} clients (normal ${round(d.normalNew)}/s, onset at ${round(onsetNew)}/s)`,
        `${failures} NXDOMAIN/SERVFAIL answers in one second (normal ${round(d.normalFail)}/s, onset at ${round(onsetFail)}/s)`,
        `new names under ${name} limited to ${round(allowedRate)}/s toward the upstreams; cached names keep being answered`,
      ],
    };
  }

  private end(name: string, d: DomainRate, now: number): FloodChange {
    const flood = d.flood!;
    d.flood = null;
    d.quiet = 0;
    this.floods.delete(name);
    this.counters.ended++;
    return {
      kind: 'ended',
      flood,
      at: now,
      reasons: [
        `random-subdomain flood against ${name} ended: ${QUIET_SECONDS} s in a row under half the onset rate; ${flood.newNames} new names in ${Math.round(now - flood.since)} s, peak ${flood.peakNewNames}/s`,
      ],
    };
  }

  private entry(domain: string): DomainRate | undefined {
    const d = this.domains.get(domain);
    if (d !== undefined) return d;
    if (this.domains.size >= this.maxDomains && !this.evictOne()) {
      this.counters.untracked++;
      return undefined;
    }
    const fresh: DomainRate = {
      newNames: 0,
      failures: 0,
      previousFailures: 0,
      clientsLo: 0,
      clientsHi: 0,
      normalNew: 0,
      normalFail: 0,
      seconds: 0,
      quiet: 0,
      flood: null,
    };
    this.domains.set(domain, fresh);
    return fresh;
  }

  /** Evicts the least busy of the oldest EVICT_SAMPLE entries that is not flagged. */
  private evictOne(): boolean {
    let victim: string | undefined;
    let least = Infinity;
    let seen = 0;
    for (const [name, d] of this.domains) {
      if (seen++ >= EVICT_SAMPLE) break;
      if (d.flood !== null) continue;
      const load = d.normalNew + d.newNames;
      if (load < least) {
        least = load;
        victim = name;
      }
    }
    if (victim === undefined) return false;
    this.domains.delete(victim);
    this.counters.evicted++;
    return true;
  }
}

/** Which of CLIENT_BITS bits a client sets (FNV-1a of its address text). */
function clientBit(client: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < client.length; i++) h = Math.imul(h ^ client.charCodeAt(i), 0x01000193);
  return (h >>> 0) % CLIENT_BITS;
}

/** Linear counting over the 64-bit sketch: about how many distinct clients set it (saturates near 250). */
function estimateClients(lo: number, hi: number): number {
  const set = popcount(lo) + popcount(hi);
  if (set === 0) return 0;
  const zeros = CLIENT_BITS - set;
  if (zeros === 0) return Math.round(CLIENT_BITS * Math.log(CLIENT_BITS));
  return Math.round(-CLIENT_BITS * Math.log(zeros / CLIENT_BITS));
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
