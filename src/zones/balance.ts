/**
 * Weighted, health-checked answers for a name in a local zone: of its A, AAAA or SRV records,
 * `answers` are chosen at random in proportion to their weights, among the targets whose health
 * check passes. When none passes (or every weight is 0), every record is answered: an answer that
 * may be stale beats no answer for a network function that would otherwise fail outright.
 * Per query: one pass over the set's records (weights in a Float64Array, no allocation).
 */
import type { ZoneRecord } from './zone-file.js';

export interface HealthCheckRule {
  /** tcp: a connect; http: a GET of `path`, healthy on 2xx/3xx; dns: `query` over UDP, healthy on NOERROR with an answer. */
  type: 'tcp' | 'http' | 'dns';
  /** Port to check (A/AAAA: required for tcp, else 80 for http, 53 for dns; an SRV record's own port is used when absent). */
  port?: number;
  /** The URL path an http check GETs (null for the other types). */
  path: string | null;
  /** The question a dns check asks (null for the other types); type as a number. */
  query: { name: string; type: number } | null;
  interval: number;
  timeout: number;
  /** Consecutive failures that take a target out, successes that bring it back. */
  fall: number;
  rise: number;
}

/** A `balance` entry of a zone, as the config carries it (plain data). */
export interface BalanceRule {
  name: string;
  /** Weight per target: an address (A/AAAA) or a target name (SRV); unlisted records weigh 1. */
  weights: Record<string, number>;
  answers: number;
  healthCheck: HealthCheckRule | null;
}

/** One record's health-check target. */
export interface CheckTarget {
  host: string;
  port: number;
}

export interface SetBalance {
  weights: Float64Array;
  /** 1 while the record's target is healthy (written by the zone's health checker). */
  healthy: Uint8Array;
  scratch: Float64Array;
  answers: number;
  /** Per record: what to check, null without a health check. */
  targets: Array<CheckTarget | null>;
  check: HealthCheckRule | null;
}

/** The port an A/AAAA target is checked on when the rule names none (tcp has no such thing). */
const DEFAULT_PORT: Record<HealthCheckRule['type'], number | undefined> = { tcp: undefined, http: 80, dns: 53 };

function keyOf(r: ZoneRecord): string {
  if (r.type === 'SRV')
    return String((r.data as { target: string }).target)
      .toLowerCase()
      .replace(/\.$/, '');
  return String(r.data).toLowerCase();
}

/** The balance of one record set, or a reason the rule does not fit it. */
export function buildSetBalance(rule: BalanceRule, records: ZoneRecord[]): SetBalance | string {
  const weights = new Float64Array(records.length);
  const targets: Array<CheckTarget | null> = [];
  records.forEach((r, i) => {
    weights[i] = rule.weights[keyOf(r)] ?? 1;
    if (rule.healthCheck === null) targets.push(null);
    else if (r.type === 'SRV') {
      const d = r.data as { target: string; port: number };
      // An SRV target is checked at the address of its name in the zone (filled in by the caller) on the record's port.
      targets.push({ host: d.target.toLowerCase().replace(/\.$/, ''), port: rule.healthCheck.port ?? d.port });
    } else {
      const port = rule.healthCheck.port ?? DEFAULT_PORT[rule.healthCheck.type];
      if (port === undefined) return;
      targets.push({ host: String(r.data), port });
    }
  });
  if (targets.length !== records.length)
    return `balance ${rule.name}: healthCheck.port is needed to check A/AAAA records over tcp`;
  return {
    weights,
    healthy: new Uint8Array(records.length).fill(1),
    scratch: new Float64Array(records.length),
    answers: rule.answers,
    targets,
    check: rule.healthCheck,
  };
}

/**
 * Writes the indexes of the chosen records into `out` and returns how many: `answers` of them,
 * weighted, among the healthy; every record when none is healthy with a weight above 0.
 */
export function pickRecords(b: SetBalance, out: Int32Array): number {
  const n = b.weights.length;
  let total = 0;
  let positive = 0;
  for (let i = 0; i < n; i++) {
    const w = b.healthy[i] === 1 ? b.weights[i] : 0;
    b.scratch[i] = w;
    total += w;
    if (w > 0) positive++;
  }
  if (total === 0) {
    for (let i = 0; i < n; i++) out[i] = i;
    return n;
  }
  const count = Math.min(b.answers, positive);
  for (let k = 0; k < count; k++) {
    let r = Math.random() * total;
    let chosen = -1;
    for (let i = 0; i < n; i++) {
      const w = b.scratch[i];
      if (w === 0) continue;
      chosen = i;
      if (r < w) break;
      r -= w;
    }
    out[k] = chosen;
    total -= b.scratch[chosen];
    b.scratch[chosen] = 0;
  }
  return count;
}
