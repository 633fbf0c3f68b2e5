/**
 * Runs one stream of benign queries and tunnel sessions, merged by time, through a detector and
 * scores it: per session whether and how soon it was blocked (queries and payload bytes that got
 * through before the first block), and per benign kind the queries and registered domains blocked.
 */
import type { GeneratedQuery } from './traffic/benign-traffic.js';
import type { TunnelSession } from './traffic/synthetic-tunnels.js';

export interface Detector {
  name: string;
  /** Returns true when the query is blocked, and the registered domain it judged. */
  judge(q: { ts: number; client: string; qname: string; qtype: number }): {
    blocked: boolean;
    domain: string;
    why?: string;
  };
}

export interface SessionResult {
  tool: string;
  queries: number;
  payload: number;
  detected: boolean;
  queriesBeforeBlock: number;
  payloadBeforeBlock: number;
  /** Query-name bytes of the queries that got through before the block (a poll carries no payload, but its name is still information). */
  nameBytesBeforeBlock: number;
  secondsToBlock: number;
}

export interface BenignResult {
  kind: string;
  queries: number;
  blocked: number;
  blockedDomains: Set<string>;
  examples: string[];
}

export interface EvaluationResult {
  detector: string;
  sessions: SessionResult[];
  benign: Map<string, BenignResult>;
  seconds: number;
}

type Item = { ts: number; order: number; benign?: GeneratedQuery; session?: number; index?: number };

export function evaluate(detector: Detector, benign: GeneratedQuery[], sessions: TunnelSession[]): EvaluationResult {
  const items: Item[] = benign.map((q, order) => ({ ts: q.ts, order, benign: q }));
  sessions.forEach((s, session) =>
    s.queries.forEach((q, index) => items.push({ ts: q.ts, order: benign.length + items.length, session, index })),
  );
  items.sort((a, b) => a.ts - b.ts || a.order - b.order);
  const results: SessionResult[] = sessions.map((s) => ({
    tool: s.tool,
    queries: s.queries.length,
    payload: s.queries.reduce((sum, q) => sum + q.payload, 0),
    detected: false,
    queriesBeforeBlock: 0,
    payloadBeforeBlock: 0,
    nameBytesBeforeBlock: 0,
    secondsToBlock: 0,
  }));
  const benignResults = new Map<string, BenignResult>();
  const started = performance.now();
  for (const item of items) {
    if (item.benign !== undefined) {
      const q = item.benign;
      const verdict = detector.judge(q);
      let r = benignResults.get(q.kind);
      if (r === undefined) {
        r = { kind: q.kind, queries: 0, blocked: 0, blockedDomains: new Set(), examples: [] };
        benignResults.set(q.kind, r);
      }
      r.queries++;
      if (verdict.blocked) {
        r.blocked++;
        r.blockedDomains.add(verdict.domain);
        if (r.examples.length < 5) r.examples.push(`${q.client} ${q.qname}: ${verdict.why ?? ''}`);
      }
      continue;
    }
    const session = sessions[item.session!];
    const q = session.queries[item.index!];
    const r = results[item.session!];
    const verdict = detector.judge(q);
    if (r.detected) continue;
    if (verdict.blocked) {
      r.detected = true;
      r.secondsToBlock = q.ts - session.queries[0].ts;
    } else {
      r.queriesBeforeBlock++;
      r.payloadBeforeBlock += q.payload;
      r.nameBytesBeforeBlock += q.qname.length;
    }
  }
  return {
    detector: detector.name,
    sessions: results,
    benign: benignResults,
    seconds: (performance.now() - started) / 1000,
  };
}
