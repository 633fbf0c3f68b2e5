/**
 * The human summary `dnsward analyze` prints to stderr: what was read, per-domain verdicts, the
 * top detections, and the blocks most likely to be false positives (domains many clients use,
 * or that look like a legitimate encoder), which an analyst should look at first.
 */
import type { AnalysisResult, DomainTally } from './analysis.js';

const TOP = 10;

function bytes(n: number): string {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${Math.round(n)} B`;
}

function describe(t: DomainTally): string {
  const action = t.blocked > 0 ? 'BLOCK  ' : 'MONITOR';
  const lines = [
    `  ${action} ${t.domain}: ${t.queries} queries (${t.blocked} blocked, ${t.monitored} monitored) from ${t.clients.size} client(s) (${t.networkClients} on the network), score ${t.maxScore}, ~${bytes(t.leakedBytes)} encoded before the block${t.incident ? `, incident ${t.incident}` : ''}`,
  ];
  for (const r of t.reasons.slice(0, 3)) lines.push(`      why: ${r}`);
  if (t.samples.length > 0) lines.push(`      e.g. ${t.samples.join('  ')}`);
  return lines.join('\n');
}

export function formatSummary(r: AnalysisResult): string {
  const out: string[] = [];
  const rate = r.seconds > 0 ? Math.round(r.queries / r.seconds) : 0;
  out.push(
    `dnsward analyze: ${r.queries} queries from ${r.inputs.length} input(s)${r.learned > 0 ? ` after learning ${r.learned}` : ''} in ${r.seconds.toFixed(2)} s (${rate} queries/s)`,
  );
  const p = r.problems;
  if (p.malformedPackets + p.badLines + p.skipped + p.tcpSplit + p.otherTraffic > 0) {
    out.push(
      `  not analysed: ${p.malformedPackets} malformed packets, ${p.badLines} bad JSONL lines, ${p.otherTraffic} packets not DNS on port 53, ${p.skipped} multi-question messages, ${p.tcpSplit} TCP messages split across segments`,
    );
    for (const e of p.examples) out.push(`    ${e}`);
  }
  const flagged = [...r.domains.values()].filter((t) => t.blocked + t.monitored > 0);
  const blocked = flagged.filter((t) => t.blocked > 0).sort((a, b) => b.leakedBytes - a.leakedBytes);
  const monitored = flagged.filter((t) => t.blocked === 0).sort((a, b) => b.maxScore - a.maxScore);
  if (r.queries === 0) {
    out.push('Nothing analysed: no query could be read from the input (see above).');
    return out.join('\n');
  }
  if (flagged.length === 0) {
    out.push('No tunnel or exfiltration found: every query was allowed.');
    return out.join('\n');
  }
  out.push(`\nPer-domain verdicts: ${blocked.length} blocked, ${monitored.length} monitored`);
  for (const t of [...blocked, ...monitored].slice(0, 3 * TOP))
    out.push(
      `  ${t.blocked > 0 ? 'block  ' : 'monitor'} ${t.domain} (${t.queries} queries, ${t.networkClients} clients)`,
    );
  if (flagged.length > 3 * TOP) out.push(`  … and ${flagged.length - 3 * TOP} more (see the JSONL output)`);
  out.push('\nTop detections:');
  for (const t of [...blocked, ...monitored].slice(0, TOP)) out.push(describe(t));
  const suspect = blocked.filter((t) => t.networkClients >= 3 || t.encoderMultiplier >= 4);
  out.push('\nLikely false positives (blocked, yet used by several clients or shaped like a legitimate encoder):');
  if (suspect.length === 0) out.push('  none');
  for (const t of suspect.slice(0, TOP)) out.push(describe(t));
  return out.join('\n');
}
