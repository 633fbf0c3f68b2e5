/**
 * Redis traffic of learning as one, from benign traffic: the eval's generated network (desktops,
 * mail servers, antivirus and CDN lookups) run through Tunnel Guard as one node sees it, counting
 * what shared-learning.ts would write and read: pairs and clients past SHARE_RATIO of a budget,
 * per learnInterval round of simulated time. Extrapolated to 20k queries per second of new names.
 *
 * `node dist/bench/cluster-learning-traffic.js`. Prints a Markdown table.
 */
import { TunnelGuard } from '../src/guard/tunnel-guard.js';
import { labelsFromText } from '../src/guard/name-text.js';
import { generateBenignTraffic } from '../eval/traffic/benign-traffic.js';
import { SHARE_RATIO } from '../src/cluster/shared-learning.js';

const ROUND_SECONDS = 0.25;
/** HSET, PEXPIRE and HGETALL per pair written. */
const COMMANDS_PER_PAIR = 3;
/** Their requests and replies in RESP, estimated for a 40-byte pair key and two nodes' fields. */
const BYTES_PER_PAIR = 370;

const traffic = generateBenignTraffic({
  seed: 7,
  clients: 300,
  mailServers: 3,
  start: 1_760_000_000,
  durationSeconds: 3600,
  queriesPerHour: 900,
});
const guard = new TunnelGuard();
let round = -1;
let dirty = new Set<string>();
const shared = new Set<string>();
let writes = 0;
let newNames = 0;
const note = (key: string, ratio: number) => {
  if (ratio < SHARE_RATIO && !shared.has(key)) return;
  shared.add(key);
  dirty.add(key);
};
guard.onInfo = (name, _pair, ratio) => note(`pair:${name}`, ratio);
guard.onClientInfo = (client, _state, ratio) => note(`client:${client}`, ratio);
for (const q of traffic) {
  const r = Math.floor(q.ts / ROUND_SECONDS);
  if (r !== round) {
    writes += dirty.size;
    dirty = new Set();
    round = r;
  }
  const before = guard.counters.newNames;
  guard.observe({ ts: q.ts, client: q.client, labels: labelsFromText(q.qname), qtype: q.qtype, explain: false });
  newNames += guard.counters.newNames - before;
}
writes += dirty.size;
const perNewName = writes / Math.max(1, newNames);
console.log(
  '| benign traffic | queries | new names | pairs and clients ever shared | writes | writes per new name | at 20k new names/s: commands/s | bytes/s |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(
  `| 300 clients, 3 mail servers, 1 h | ${traffic.length} | ${newNames} | ${shared.size} | ${writes} | ${perNewName.toFixed(4)} | ${Math.round(20_000 * perNewName * COMMANDS_PER_PAIR)} | ${Math.round(20_000 * perNewName * BYTES_PER_PAIR)} |`,
);
