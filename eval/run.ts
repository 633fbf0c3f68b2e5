/**
 * `npm run eval`: Tunnel Guard against real and synthetic tunnels mixed into realistic benign
 * traffic, beside simple per-query baselines. See docs/DETECTION.md for the method.
 */
import { labelsFromText } from '../src/guard/name-text.js';
import { TunnelGuard } from '../src/guard/tunnel-guard.js';
import { datasetsRoot, graphtunnel, ispZiza, netrack } from './datasets.js';
import { evaluate, type EvaluationResult } from './evaluate.js';
import { captureRealTunnels } from './real-tunnels.js';
import { baselines, tunnelGuardDetector } from './detectors.js';
import { generateBenignTraffic } from './traffic/benign-traffic.js';
import { generateCiRunnerTraffic } from './traffic/ci-runner-traffic.js';
import { generateEdrAgentTraffic } from './traffic/edr-agent-traffic.js';
import { generateMailGatewayTraffic } from './traffic/mail-gateway-traffic.js';
import { generateWebProxyTraffic } from './traffic/web-proxy-traffic.js';
import { Random } from './traffic/random.js';
import {
  cobaltStrike,
  dnscat2,
  dnsExfiltrator,
  iodineLike,
  lowAndSlow,
  lowAndSlowVariant,
  polling,
  sliver,
  spread,
  type TunnelSession,
  wordEncoded,
} from './traffic/synthetic-tunnels.js';

const START = 1_700_000_000;
const HOURS = Number(process.env.EVAL_HOURS ?? 24);
const SESSIONS_PER_TOOL = Number(process.env.EVAL_SESSIONS ?? 50);

function syntheticSessions(seed: number, clients: string[]): TunnelSession[] {
  const rng = new Random(seed);
  const sessions: TunnelSession[] = [];
  const at = () => START + 60 + rng.next() * (HOURS - 3) * 3600;
  // Each session gets a client of its own (a benign one while they last), so one session's
  // traces in per-client state never help detect the next.
  let next = 0;
  const client = () =>
    next < clients.length ? clients[next++] : `10.99.${(next - clients.length) >> 8}.${next++ - clients.length}`;
  for (let i = 0; i < SESSIONS_PER_TOOL; i++) {
    sessions.push(dnscat2({ rng, client: client(), start: at() }));
    sessions.push(dnsExfiltrator({ rng, client: client(), start: at() }));
    sessions.push(cobaltStrike({ rng, client: client(), start: at() }));
    sessions.push(sliver({ rng, client: client(), start: at() }));
    sessions.push(iodineLike({ rng, client: client(), start: at() }, 'base32'));
    sessions.push(iodineLike({ rng, client: client(), start: at() }, 'base128'));
    sessions.push(wordEncoded({ rng, client: client(), start: at() }));
    sessions.push(spread({ rng, client: client(), start: at() }));
    sessions.push(lowAndSlow({ rng, client: client(), start: at() }, 0.1, 2));
    sessions.push(lowAndSlow({ rng, client: client(), start: at() }, 1, 1));
    sessions.push(polling({ rng, client: client(), start: at() }));
  }
  // Low-and-slow variants (fewer sessions each: there are twelve of them), two hours each.
  if (process.env.EVAL_SLOW !== '0') {
    for (let i = 0; i < Math.ceil(SESSIONS_PER_TOOL / 2); i++) {
      for (const bytesPerSecond of [0.1, 0.3, 1]) {
        for (const [encoding, qtype] of [
          ['hex', 1],
          ['xor-hex', 1],
          ['base32', 1],
          ['base32', 16],
        ] as const) {
          sessions.push(
            lowAndSlowVariant({ rng, client: client(), start: at() }, { bytesPerSecond, encoding, qtype, hours: 2 }),
          );
        }
      }
    }
  }
  return sessions;
}

function report(r: EvaluationResult): void {
  console.log(`\n## ${r.detector} (${r.seconds.toFixed(1)} s)\n`);
  const tools = new Map<string, typeof r.sessions>();
  for (const s of r.sessions) tools.set(s.tool, [...(tools.get(s.tool) ?? []), s]);
  const med = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : NaN);
  const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
  console.log(
    '| tool | sessions | recall | within 1 h | queries before block, median / max | payload B before block, median / max | name B before block, median / max | seconds to block, median |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [tool, list] of tools) {
    const det = list.filter((s) => s.detected);
    const q = det.map((s) => s.queriesBeforeBlock);
    const p = det.map((s) => s.payloadBeforeBlock);
    const n = det.map((s) => s.nameBytesBeforeBlock);
    const hour = det.filter((s) => s.secondsToBlock <= 3600).length;
    console.log(
      `| ${tool} | ${list.length} | ${((100 * det.length) / list.length).toFixed(1)}% | ${((100 * hour) / list.length).toFixed(1)}% | ${med(q)} / ${max(q)} | ${med(p)} / ${max(p)} | ${med(n)} / ${max(n)} | ${det.length ? med(det.map((s) => s.secondsToBlock)).toFixed(0) : '-'} |`,
    );
  }
  let total = 0;
  let blocked = 0;
  console.log('\n| benign kind | queries | blocked | share blocked | registered domains blocked |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const b of [...r.benign.values()].sort((x, y) => y.queries - x.queries)) {
    total += b.queries;
    blocked += b.blocked;
    const domains = [...b.blockedDomains];
    console.log(
      `| ${b.kind} | ${b.queries} | ${b.blocked} | ${(b.blocked / b.queries).toExponential(1)} | ${domains.length === 0 ? 'none' : `${domains.slice(0, 4).join(', ')}${domains.length > 4 ? ` … (${domains.length})` : ''}`} |`,
    );
  }
  if (process.env.EVAL_VERBOSE)
    for (const b of r.benign.values()) for (const e of b.examples) console.log(`  ${b.kind}: ${e}`);
  console.log(`\nBenign queries blocked: ${blocked} of ${total} = ${(blocked / total).toExponential(2)}`);
}

function ispPerQuery(root: string): void {
  const isp = ispZiza(root);
  if (isp === undefined) return;
  const guard = new TunnelGuard();
  console.log(
    `\n## isp-ziza per-query stage (prior only; allowance ${guard.allowanceBits.toFixed(0)} bits, query budget ${guard.queryBudget.toFixed(0)} B)`,
  );
  console.log('| group | names | would block alone (new domain) | bits p50 | bits p99 |');
  for (const [group, names] of Object.entries(isp) as Array<[string, string[]]>) {
    const bits = names
      .map((n) => labelsFromText(n.toLowerCase()).reduce((sum, l) => sum + guard.model.bits(l), 0))
      .sort((a, b) => a - b);
    const blocked = bits.filter((b) => (b - guard.allowanceBits) / 8 >= guard.queryBudget).length;
    console.log(
      `| ${group} | ${names.length} | ${blocked} (${((100 * blocked) / names.length).toFixed(3)}%) | ${bits[bits.length >> 1].toFixed(0)} | ${bits[Math.floor(bits.length * 0.99)].toFixed(0)} |`,
    );
  }
}

// The office day, plus one enterprise mail gateway checking thousands of sender domains (its
// kinds are the `mail-*` rows; seed 5150, never used to train the prior).
const office = [
  ...generateBenignTraffic({
    seed: 2026,
    clients: 150,
    mailServers: 2,
    start: START,
    durationSeconds: HOURS * 3600,
    queriesPerHour: 250,
  }),
  ...(process.env.EVAL_MAIL === '0'
    ? []
    : generateMailGatewayTraffic({
        seed: 5150,
        client: '10.25.0.25',
        start: START,
        durationSeconds: HOURS * 3600,
        senders: 4000,
        messagesPerHour: 400,
      })),
];
// Client roles of their own, each with a seed of its own (never the prior's): a web proxy
// resolving for thousands of users (`proxy-*`), a CI runner pulling packages and images in
// bursts (`ci-*`), and an EDR agent's cloud lookups on four servers (`edr-*`).
const roles =
  process.env.EVAL_ROLES === '0'
    ? []
    : [
        ...generateWebProxyTraffic({
          seed: 8080,
          client: '10.25.0.80',
          start: START,
          durationSeconds: HOURS * 3600,
          queriesPerHour: 8000,
        }),
        ...generateCiRunnerTraffic({
          seed: 3131,
          client: '10.25.0.90',
          start: START,
          durationSeconds: HOURS * 3600,
          jobsPerHour: 12,
        }),
        ...generateEdrAgentTraffic({
          seed: 6161,
          clients: ['10.25.1.11', '10.25.1.12', '10.25.1.13', '10.25.1.14'],
          start: START,
          durationSeconds: HOURS * 3600,
          lookupsPerHour: 400,
        }),
      ];
const benign = [...office, ...roles].sort((a, b) => a.ts - b.ts);
// Tunnel sessions borrow the office's clients (so the role classes leave the sessions' clients
// and start times as they were without them).
const clients = [...new Set([...office].sort((a, b) => a.ts - b.ts).map((q) => q.client))];
const sessions = syntheticSessions(7, clients);
// Real captures are replayed inside the benign day, each from a client of its own.
const realRng = new Random(9);
const real = process.env.EVAL_REAL === '0' ? [] : await captureRealTunnels((line) => console.log(`  ${line}`));
real.forEach((session, i) => {
  const start = START + 60 + realRng.next() * (HOURS - 3) * 3600;
  const shift = start - session.queries[0].ts;
  const client = `10.98.0.${i + 1}`;
  // Every capture used the zone tunnel.test; each replay gets a zone of its own, so one run's
  // domain block does not pre-empt the next.
  const zone = `real-tunnel-${i + 1}.test`;
  sessions.push({
    ...session,
    client,
    domains: [zone],
    queries: session.queries.map((q) => ({
      ...q,
      ts: q.ts + shift,
      client,
      qname: q.qname.replace(/tunnel\.test$/i, zone),
    })),
  });
});
console.log(`benign queries: ${benign.length}, tunnel sessions: ${sessions.length}`);
report(evaluate(tunnelGuardDetector(), benign, sessions));
if (process.env.EVAL_BASELINES !== '0') for (const b of baselines) report(evaluate(b, benign, sessions));
const root = datasetsRoot();
if (root === undefined) console.log('\n(no ../shared/datasets and no DNSWARD_DATASETS: public corpora skipped)');
else {
  for (const stream of [graphtunnel(root), netrack(root)]) {
    if (stream === undefined) continue;
    console.log(`\n# ${stream.name}: ${stream.benign.length} benign queries, ${stream.sessions.length} sessions`);
    report(evaluate(tunnelGuardDetector(), stream.benign, stream.sessions));
    if (process.env.EVAL_BASELINES !== '0')
      for (const b of baselines) report(evaluate(b, stream.benign, stream.sessions));
  }
  ispPerQuery(root);
}
