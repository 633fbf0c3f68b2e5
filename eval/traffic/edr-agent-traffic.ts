/**
 * Generated DNS traffic of an EDR/antivirus agent's cloud lookups on a group of servers over a
 * day: each server asks its vendor's cloud about files, URLs and certificates by hash, in names
 * under the vendor's domain, a burst of hundreds when a scan or a deployment touches many files:
 *
 * - file reputation: a SHA-256 in two 32-hex-character labels, the engine version and a type label;
 * - URL reputation: a base32 digest of the URL, with the category set asked for;
 * - certificate lookups: a 40-hex thumbprint;
 * - configuration and telemetry hosts, asked again and again.
 *
 * Common system files come back on every server (a shared pool, Zipf-picked); most scanned files
 * are new. The vendor is invented and not on the detector's documented list: the detector has to
 * cope from what it learns. Deterministic for a seed; `npm run eval` uses a seed the prior was
 * never trained on.
 */
import { BASE32, HEX, Random } from './random.js';
import type { GeneratedQuery } from './benign-traffic.js';

export type EdrKind = 'edr-file' | 'edr-url' | 'edr-cert' | 'edr-config';

export interface EdrAgentOptions {
  seed: number;
  /** The servers running the agent. */
  clients: string[];
  start: number;
  durationSeconds: number;
  /** Lookups per server per hour, on average, scans included. */
  lookupsPerHour: number;
}

const VENDOR = 'sentrivex-cloud.net';

export function generateEdrAgentTraffic(o: EdrAgentOptions): GeneratedQuery[] {
  const rng = new Random(o.seed);
  const common = Array.from({ length: 3000 }, () => `${rng.chars(HEX, 32)}.${rng.chars(HEX, 32)}`);
  const out: GeneratedQuery[] = [];
  for (const client of o.clients) {
    const version = `${rng.int(4, 6)}-${rng.int(0, 9)}`;
    const region = rng.pick(['eu', 'us', 'emea']);
    const push = (ts: number, qname: string, kind: EdrKind) => out.push({ ts, client, qname, qtype: 1, kind });
    // Heartbeats and config every few minutes; lookups come in bursts (a scan, a deployment).
    for (let t = o.start + rng.next() * 300; t < o.start + o.durationSeconds; t += 240 + rng.next() * 120) {
      push(t, `${rng.pick(['cfg', 'hb', 'telemetry'])}.${region}.${VENDOR}`, 'edr-config');
    }
    let ts = o.start + rng.exp(1800);
    while (ts < o.start + o.durationSeconds) {
      const size = rng.next() < 0.8 ? rng.int(5, 40) : rng.int(100, 600);
      let t = ts;
      for (let i = 0; i < size; i++) {
        t += rng.exp(rng.next() < 0.5 ? 0.2 : 2);
        const r = rng.next();
        if (r < 0.7) {
          const hash = rng.next() < 0.5 ? rng.zipf(common) : `${rng.chars(HEX, 32)}.${rng.chars(HEX, 32)}`;
          push(t, `${hash}.${version}.${rng.pick(['pe', 'pe', 'doc', 'scr'])}.fr.${region}.${VENDOR}`, 'edr-file');
        } else if (r < 0.9)
          push(t, `${rng.chars(BASE32, 26)}.${rng.pick(['c1', 'c2', 'c3'])}.ur.${region}.${VENDOR}`, 'edr-url');
        else push(t, `${rng.chars(HEX, 40)}.ct.${region}.${VENDOR}`, 'edr-cert');
      }
      // Mean gap chosen so the hourly average comes out at lookupsPerHour.
      ts = t + rng.exp((3600 * (0.8 * 22.5 + 0.2 * 350)) / o.lookupsPerHour);
    }
  }
  out.sort((a, b) => a.ts - b.ts);
  return out;
}
