/**
 * `dnsward analyze` without the command line: learn files, then input files, through one Tunnel
 * Guard; exactly one JSON line per input query, in input order; a per-domain tally for the
 * human summary. Deterministic: time comes from the records, never from the clock.
 */
import { presentName } from '../dns/name.js';
import { qtypeName } from '../dns/wire.js';
import { isRepeatVerdict, type TunnelGuard } from '../guard/tunnel-guard.js';
import type { Verdict } from '../guard/verdict.js';
import { type InputProblems, type InputRecord, newProblems, readInput } from './input-reader.js';
import { repeatLine, verdictLine } from './verdict-line.js';

/** Kept for domains with a block or monitor verdict, from their first such verdict on. */
export interface DomainTally {
  domain: string;
  /** Queries since the first block or monitor verdict. */
  queries: number;
  blocked: number;
  monitored: number;
  maxScore: number;
  /** Clients seen since the first block or monitor verdict (up to 1,000). */
  clients: Set<string>;
  leakedBytes: number;
  incident?: string;
  reasons: string[];
  samples: string[];
  /** Distinct clients of the domain over the whole analysis (Tunnel Guard's count). */
  networkClients: number;
  /** Evidence that this block may be a false positive, from the normal stage. */
  encoderMultiplier: number;
}

export interface AnalysisResult {
  queries: number;
  learned: number;
  inputs: Array<{ path: string; kind: 'capture' | 'jsonl' }>;
  problems: InputProblems;
  domains: Map<string, DomainTally>;
  seconds: number;
}

export interface AnalysisOptions {
  guard: TunnelGuard;
  learn: string[];
  inputs: string[];
  /** Receives each output line (without the newline). */
  write: (line: string) => void;
  progress?: (done: number, total: number, queries: number) => void;
}

const MAX_TALLY_SAMPLES = 3;

export function analyze(o: AnalysisOptions): AnalysisResult {
  const started = performance.now();
  const problems = newProblems();
  const result: AnalysisResult = { queries: 0, learned: 0, inputs: [], problems, domains: new Map(), seconds: 0 };
  const files = [...o.learn, ...o.inputs];
  const observe = (r: InputRecord, output: boolean) => {
    if (r.kind === 'response') {
      o.guard.observeResponse({
        ts: r.ts,
        client: r.client,
        labels: r.labels,
        qtype: r.qtype,
        rcode: r.rcode,
        answerSize: r.answerSize,
        payloadBytes: r.payloadBytes,
      });
      return;
    }
    const verdict = o.guard.observe(r);
    if (r.rcode !== undefined || r.answerSize !== undefined)
      o.guard.observeResponse({
        ts: r.ts,
        client: r.client,
        labels: r.labels,
        qtype: r.qtype,
        rcode: r.rcode ?? 0,
        answerSize: r.answerSize,
      });
    if (!output) {
      result.learned++;
      return;
    }
    result.queries++;
    o.write(outputLine(r, verdict));
    if (verdict.action === 'allow') {
      const quietTally = result.domains.get(verdict.domain);
      if (quietTally !== undefined) quietTally.queries++;
      return;
    }
    let tally = result.domains.get(verdict.domain);
    if (tally === undefined) {
      tally = {
        domain: verdict.domain,
        queries: 0,
        blocked: 0,
        monitored: 0,
        maxScore: 0,
        clients: new Set(),
        leakedBytes: 0,
        reasons: [],
        samples: [],
        encoderMultiplier: 1,
        networkClients: 0,
      };
      result.domains.set(verdict.domain, tally);
    }
    tally.queries++;
    if (tally.clients.size < 1000) tally.clients.add(r.client);
    if (verdict.action === 'block') tally.blocked++;
    else tally.monitored++;
    if (verdict.score >= tally.maxScore) {
      tally.maxScore = verdict.score;
      if (verdict.reasons.length > 0) tally.reasons = verdict.reasons;
      const normal = verdict.stages.find((s) => s.name === 'normal');
      if (normal !== undefined && typeof normal.evidence.encoderMultiplier === 'number')
        tally.encoderMultiplier = normal.evidence.encoderMultiplier;
    }
    if (verdict.incident !== undefined) tally.incident = verdict.incident;
    if (verdict.leakedBytes > tally.leakedBytes) tally.leakedBytes = verdict.leakedBytes;
    if (tally.samples.length < MAX_TALLY_SAMPLES) tally.samples.push(presentName(r.labels));
  };
  files.forEach((path, i) => {
    const output = i >= o.learn.length;
    const kind = readInput(
      path,
      problems,
      (r) => observe(r, output),
      (share) => o.progress?.(i + share, files.length, result.queries),
    );
    if (output) result.inputs.push({ path, kind });
  });
  for (const tally of result.domains.values())
    tally.networkClients = o.guard.domains.peek(tally.domain)?.clients ?? tally.clients.size;
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function outputLine(r: InputRecord, v: Verdict): string {
  const q = { ts: r.ts, client: r.client, qname: presentName(r.labels), qtype: qtypeName(r.qtype) };
  return isRepeatVerdict(v) ? repeatLine(q, v.domain) : verdictLine(q, v);
}
