/**
 * Token buckets for events that traffic can raise in bulk (policy blocks: one client browsing
 * through an ad list, malware walking a blocklist of DGA names): each client may raise `rate`
 * per second (bursts of `burst`), and all clients together `totalRate`. An event over the limit
 * is not raised; it is counted, and the client's next event says how many were held back, so
 * the SIEM sees every client that hit a rule without one client flooding it or the event loop.
 * Clients are tracked in a map capped at `maxClients` (least recently seen dropped first).
 */
interface Bucket {
  tokens: number;
  at: number;
  held: number;
}

export interface EventRateLimits {
  rate: number;
  burst: number;
  totalRate: number;
  totalBurst: number;
  maxClients: number;
}

export const POLICY_EVENT_LIMITS: EventRateLimits = {
  rate: 10,
  burst: 50,
  totalRate: 500,
  totalBurst: 2000,
  maxClients: 10_000,
};

export class EventRateLimiter {
  private readonly clients = new Map<string, Bucket>();
  private readonly total: Bucket;
  /** Events held back since start. */
  held = 0;

  constructor(private readonly limits: EventRateLimits = POLICY_EVENT_LIMITS) {
    this.total = { tokens: limits.totalBurst, at: 0, held: 0 };
  }

  /** -1 when this client's event is held back; otherwise how many of its events were held back since its last one. */
  take(client: string, nowMs: number): number {
    let bucket = this.clients.get(client);
    if (bucket === undefined) {
      bucket = { tokens: this.limits.burst, at: nowMs, held: 0 };
      if (this.clients.size >= this.limits.maxClients) this.clients.delete(this.clients.keys().next().value!);
    } else {
      this.clients.delete(client);
    }
    this.clients.set(client, bucket);
    refill(bucket, nowMs, this.limits.rate, this.limits.burst);
    refill(this.total, nowMs, this.limits.totalRate, this.limits.totalBurst);
    if (bucket.tokens < 1 || this.total.tokens < 1) {
      bucket.held++;
      this.held++;
      return -1;
    }
    bucket.tokens--;
    this.total.tokens--;
    const held = bucket.held;
    bucket.held = 0;
    return held;
  }
}

function refill(b: Bucket, nowMs: number, rate: number, burst: number): void {
  if (nowMs > b.at) {
    b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * rate);
    b.at = nowMs;
  }
}
