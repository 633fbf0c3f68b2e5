/**
 * A set of upstreams behind one selection policy, with a per-try timeout and retries on
 * other upstreams. The default pool serves everything; forward zones get pools of their own.
 *
 * Policies:
 * - failover: the first healthy upstream in configured order (primary/secondary resolvers);
 * - round-robin: healthy upstreams in turn;
 * - least-outstanding: the healthy upstream with the fewest queries in flight.
 */
import type { ParsedQuery } from '../dns/query-parser.js';
import type { ScannedResponse } from '../dns/response-scanner.js';
import { Exchange } from './exchange.js';
import { Upstream, type UpstreamOptions } from './upstream.js';

export type SelectionPolicy = 'failover' | 'round-robin' | 'least-outstanding';

export interface UpstreamPoolOptions {
  name: string;
  policy: SelectionPolicy;
  upstreams: UpstreamOptions[];
  timeoutMs: number;
  /** Tries per query, across upstreams (the first send included). */
  attempts: number;
}

/** What the pool reports back: an answer, or the reason there is none. */
export type ResolveDone<C> = (
  context: C,
  error: string | null,
  answer: Buffer | null,
  scan: ScannedResponse | null,
  upstream: Upstream | null,
) => void;

class PooledQuery<C> extends Exchange {
  upstream: Upstream | null = null;
  tried = 0;
  attemptsLeft = 0;
  lastError = '';
  constructor(
    wire: Buffer,
    questionEnd: number,
    onOutcome: Exchange['onOutcome'],
    readonly context: C,
    readonly done: ResolveDone<C>,
  ) {
    super(wire, questionEnd, onOutcome);
  }
}

export class UpstreamPool {
  readonly upstreams: Upstream[];
  private rrNext = 0;
  private readonly outcome = (
    ex: Exchange,
    error: string | null,
    answer: Buffer | null,
    scan: ScannedResponse | null,
  ) => this.onOutcome(ex as PooledQuery<unknown>, error, answer, scan);

  constructor(
    readonly options: UpstreamPoolOptions,
    onHealthChange: (u: Upstream) => void,
  ) {
    if (options.upstreams.length === 0) throw new Error(`pool ${options.name} has no upstreams`);
    if (options.upstreams.length > 30) throw new Error(`pool ${options.name} has more than 30 upstreams`);
    this.upstreams = options.upstreams.map((o) => new Upstream(o, onHealthChange));
  }

  get healthyCount(): number {
    let n = 0;
    for (const u of this.upstreams) if (u.healthy) n++;
    return n;
  }

  /**
   * Forwards the client's query; `done` is called exactly once. The request's ID bytes are
   * overwritten with upstream IDs (no copy per miss); the client's ID stays in `query.id`.
   */
  resolve<C>(request: Buffer, query: ParsedQuery, context: C, done: ResolveDone<C>): void {
    const pq = new PooledQuery<C>(request, query.questionEnd, this.outcome, context, done);
    pq.attemptsLeft = this.options.attempts;
    this.tryNext(pq, performance.now());
  }

  sweep(now: number): void {
    for (const u of this.upstreams) u.sweep(now);
  }

  close(): void {
    for (const u of this.upstreams) u.close();
  }

  get inFlight(): number {
    let n = 0;
    for (const u of this.upstreams) n += u.inFlight;
    return n;
  }

  /**
   * Sends to the next upstream. One that refuses at once (no socket could be opened, its
   * in-flight limit is reached) is passed over for the next, within the attempts; when none
   * is left the query is done with that reason (a SERVFAIL), here and now. Never loops
   * beyond `attempts` or the number of upstreams.
   */
  private tryNext<C>(pq: PooledQuery<C>, now: number): void {
    const everyone = this.upstreams.length >= 31 ? -1 : (1 << this.upstreams.length) - 1;
    for (;;) {
      const u = this.select(pq.tried);
      pq.upstream = u;
      pq.tried |= 1 << this.upstreams.indexOf(u);
      pq.attemptsLeft--;
      const refused = u.send(pq, now, this.options.timeoutMs);
      if (refused === null) return;
      pq.lastError = `${u.name}: ${refused}`;
      if (pq.attemptsLeft <= 0 || (pq.tried & everyone) === everyone) {
        pq.done(pq.context, pq.lastError, null, null, u);
        return;
      }
    }
  }

  private onOutcome<C>(
    pq: PooledQuery<C>,
    error: string | null,
    answer: Buffer | null,
    scan: ScannedResponse | null,
  ): void {
    const u = pq.upstream!;
    if (error === null) {
      u.markSuccess();
      pq.done(pq.context, null, answer, scan, u);
      return;
    }
    u.markQueryFailure(pq);
    pq.lastError = error;
    if (pq.attemptsLeft > 0) {
      this.tryNext(pq, performance.now());
      return;
    }
    pq.done(pq.context, pq.lastError, null, null, u);
  }

  /**
   * Picks an upstream not yet tried for this query, preferring healthy ones. When every
   * upstream is down it still picks one: a resolver marked down may have recovered, and a
   * try costs less than a certain SERVFAIL.
   */
  private select(tried: number): Upstream {
    let pick = this.pick(tried, true);
    if (pick < 0) pick = this.pick(tried, false);
    if (pick < 0) pick = this.pick(0, true);
    return this.upstreams[pick < 0 ? 0 : pick];
  }

  /** Index of the upstream the policy picks among those not in `tried` (and healthy, if asked). */
  private pick(tried: number, healthyOnly: boolean): number {
    const all = this.upstreams;
    const n = all.length;
    switch (this.options.policy) {
      case 'failover':
        for (let i = 0; i < n; i++) if (!(tried & (1 << i)) && (!healthyOnly || all[i].healthy)) return i;
        return -1;
      case 'round-robin':
        for (let k = 0; k < n; k++) {
          const i = (this.rrNext + k) % n;
          if (!(tried & (1 << i)) && (!healthyOnly || all[i].healthy)) {
            this.rrNext = i + 1;
            return i;
          }
        }
        return -1;
      case 'least-outstanding': {
        let best = -1;
        for (let i = 0; i < n; i++) {
          if (
            !(tried & (1 << i)) &&
            (!healthyOnly || all[i].healthy) &&
            (best < 0 || all[i].outstanding < all[best].outstanding)
          )
            best = i;
        }
        return best;
      }
    }
  }
}
