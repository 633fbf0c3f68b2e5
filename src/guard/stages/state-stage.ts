/**
 * Stage 2, state: what this client has sent this domain, and all domains, over time. The
 * query's excess information goes into the client × domain pair's minute/hour/day windows
 * (and, for encoded names, the client's total across domains); then those windows, the
 * regularity of its new names (beacons) and the client's total are weighed against the
 * normal stage's budgets (the ratio: 1 is at a budget).
 */
import { RESOLVER_HOUR_CAP, resolverFactor, roleFactor } from '../client-role.js';
import {
  addInfo,
  countDomain,
  ID_SPACE,
  newClient,
  newPair,
  pairKey,
  type PairState,
  updateTemplate,
  WINDOW_NAMES,
  WINDOW_SECONDS,
} from '../guard-state.js';
import { round } from '../guard-text.js';
import type { GuardContext } from '../guard-context.js';
import type { StageReport } from '../verdict.js';
import { windowBudget } from './normal-stage.js';
import type { GuardStage, Observation } from './observation.js';

/**
 * A stream of names never asked before, to a domain only one client uses, gets this many names
 * with the network's per-name allowance; from the next one on, each such name counts with all
 * its information. A site one person visits has a handful of host names, asked again and again;
 * a low-and-slow tunnel sends a name it never repeats every few seconds or minutes, each under
 * the allowance (measured: at 0.1 B/s in A queries, 2 of 25 sessions were caught in two hours).
 */
const STREAM_FREE_NAMES = 16;
/** Of a stream's queries, at least this share must be new names (repeats say: a site in use). */
const STREAM_NEW_SHARE = 0.9;
/**
 * Encoded information in protocol records (DKIM tokens, tenant keys) each domain may add before
 * it counts toward its client's total across domains. A client checking the mail records of
 * thousands of domains a day (a mail gateway) spends a few of these bytes on each: its
 * cross-domain total is judged per domain it checks, not against one budget for all. A tunnel
 * spreading payload as selectors over its own domains gets only these bytes per domain.
 */
const SERVICE_FREE_BYTES_PER_DOMAIN = 24;

export const stateStage: GuardStage = {
  name: 'state',
  report(o: Observation): StageReport {
    const evidence: StageReport['evidence'] = { pairQueries: o.pairQueries, pairNewNames: o.pairNewNames };
    if (o.excessBytes > 0) {
      evidence.pairBytes = o.pairInfo.map(round).join('/');
      evidence.budgetBytes = [0, 1, 2].map((w) => round(pairBudget(o, w))).join('/');
    }
    if (o.role > 1) evidence.roleFactor = round(o.role);
    if (o.beaconCv >= 0) {
      evidence.beaconSeconds = round(o.beaconSeconds);
      evidence.beaconVariation = round(o.beaconCv);
    }
    if (o.clientDayBytes >= 0) evidence.clientEncodedDayBytes = round(o.clientDayBytes);
    return { name: 'state', score: round(o.stateScore), evidence };
  },
};

/** The client × domain budget of a window, with the client's role on the hour and day. */
function pairBudget(o: Observation, window: number): number {
  return (
    windowBudget(o.guard, window, o.normal.multiplier, o.normal.recognised) *
    (window === 0 ? 1 : window === 1 ? Math.min(o.role, RESOLVER_HOUR_CAP) : o.role)
  );
}

/** Adds the query to the state per client × domain, per domain and per client. */
export function account(guard: GuardContext, o: Observation): void {
  const { q, domain, service, anatomy } = o;
  const ts = q.ts;
  let client = guard.clients.get(q.client);
  if (client === undefined) {
    client = newClient(ts, guard.nextClientId);
    guard.nextClientId = (guard.nextClientId + 1) % ID_SPACE;
    guard.clients.set(q.client, client);
  }
  const key = pairKey(client, domain);
  let pair = guard.pairs.get(key);
  if (pair === undefined) {
    pair = newPair(ts);
    guard.pairs.set(key, pair);
    // The filter remembers pairs the capped map has since evicted, so clients are not recounted.
    if (guard.seenPairs.addIfNew(`${q.client} ${o.domainName}`)) {
      domain.clients++;
      countDomain(client, ts);
    }
  }
  o.client = client;
  o.pair = pair;
  // The filter remembers service pairs too (a key no client × domain key can equal).
  if (service !== undefined && !service.listed && guard.seenPairs.addIfNew(`${q.client} _ ${o.domainName}`))
    client.serviceDomains++;
  // The role weighs only names that vary by what the mail brings: a tenant's owner labels, a
  // listed address or domain. A plain tunnel on a mail gateway meets plain budgets, and so does
  // one dressing payload as selectors of its own domain (a sender has a few selectors, not hundreds).
  o.role =
    service === undefined || (!service.listed && service.ownerStart >= anatomy.subdomainLabels.length)
      ? 1
      : roleFactor(client);
  // The total across domains is the role's own measure: any protocol record is judged by it.
  o.totalRole = service === undefined ? 1 : roleFactor(client);
  // A client resolving for many people: every name it asks is many people's.
  const resolver = resolverFactor(client, ts);
  if (resolver > o.role) o.role = resolver;
  if (resolver > 1) o.totalRole = Infinity;
  pair.queries++;
  o.encoded = o.shape !== undefined && o.shape.encodedLabels > 0;
  if (o.isNew) {
    guard.counters.newNames++;
    domain.uniqueNames++;
    pair.uniqueNames++;
    if (o.encoded) pair.encodedNames++;
    if (pair.lastNewTs > 0) {
      const interval = ts - pair.lastNewTs;
      const alpha = pair.intervals < 8 ? 1 / (pair.intervals + 1) : 0.125;
      pair.intervalMean += alpha * (interval - pair.intervalMean);
      pair.intervalSquare += alpha * (interval * interval - pair.intervalSquare);
      pair.intervals++;
    }
    pair.lastNewTs = ts;
    updateTemplate(domain, o.shape!.template);
  }
  // A resolver for many people is many users in one: its stream of new names is their browsing.
  if (
    o.isNew &&
    service === undefined &&
    domain.users <= 1 &&
    resolver === 1 &&
    pair.uniqueNames > STREAM_FREE_NAMES &&
    pair.uniqueNames >= STREAM_NEW_SHARE * pair.queries
  ) {
    o.excessBytes = Math.max(o.excessBytes, (o.bits * o.weight) / 8);
  }
  if (o.excessBytes > 0) addExcess(o, pair);
}

/** The query's excess information into the pair's windows and, when encoded, the client's total. */
function addExcess(o: Observation, pair: PairState): void {
  const { excessBytes, client } = o;
  const ts = o.q.ts;
  addInfo(pair, ts, excessBytes);
  pair.leaked += excessBytes;
  o.domain.leaked += excessBytes;
  if (!o.encoded) return;
  let clientBytes = excessBytes;
  if (o.service !== undefined) {
    // A protocol record's first bytes per domain are the client's role, not its total.
    const before = pair.serviceInfo;
    pair.serviceInfo += excessBytes;
    clientBytes =
      Math.max(0, pair.serviceInfo - SERVICE_FREE_BYTES_PER_DOMAIN) -
      Math.max(0, before - SERVICE_FREE_BYTES_PER_DOMAIN);
  }
  o.clientBytes = clientBytes;
  if (clientBytes > 0) {
    addInfo(client, ts, clientBytes);
    client.leaked += clientBytes;
  }
}

/**
 * Weighs the state against the normal's budgets (after judgeNormal): the pair's windows (other
 * nodes' bytes included), beacon regularity and the client's total across domains.
 */
export function weighState(guard: GuardContext, o: Observation): void {
  const { q, pair, client, excessBytes, reasons } = o;
  const ts = q.ts;
  const { multiplier } = o.normal;
  let ratio = 0;
  o.pairQueries = pair.queries;
  o.pairNewNames = pair.uniqueNames;
  // Other nodes' bytes for this pair count as this node's (a cluster's shared learning).
  const remote =
    guard.remoteInfo.size > 0 && excessBytes > 0 ? guard.remoteInfo.get(`${q.client} ${o.domainName}`) : undefined;
  o.pairInfo =
    remote === undefined
      ? [pair.info[0], pair.info[1], pair.info[2]]
      : ([0, 1, 2].map(
          (w) => pair.info[w] + remote.info[w] * Math.exp(-Math.max(0, ts - remote.ts) / WINDOW_SECONDS[w]),
        ) as [number, number, number]);
  if (excessBytes > 0) {
    let window = 0;
    for (let w = 0; w < 3; w++) {
      const r = o.pairInfo[w] / pairBudget(o, w);
      if (r > ratio) {
        ratio = r;
        window = w;
      }
    }
    if (ratio >= 0.5)
      reasons.push(
        `${round(o.pairInfo[window])} B of encoded information from ${q.client} to ${o.domainName} in the last ${WINDOW_NAMES[window]}${remote === undefined ? '' : ' (on every node)'} (budget ${round(pairBudget(o, window))} B)`,
      );
  }
  // Beacons: new names at machine-regular intervals to a domain nobody else uses.
  if (o.isNew && pair.intervals >= 6 && multiplier < 4 && pair.intervalMean >= 0.05) {
    const variance = Math.max(0, pair.intervalSquare - pair.intervalMean * pair.intervalMean);
    const cv = Math.sqrt(variance) / pair.intervalMean;
    if (cv < 0.25 && pair.uniqueNames / pair.queries > 0.8) {
      // Encoded names or a tunnel's query type make a regular stream a tunnel's polls, not an app's.
      const beacon = pair.encodedNames * 2 >= pair.uniqueNames || o.weight >= 1.5 ? 1.2 : 0.6;
      if (beacon > ratio) ratio = beacon;
      o.beaconCv = cv;
      reasons.push(`new names every ${round(pair.intervalMean)} s with ${round(cv * 100)}% variation: a beacon`);
    }
  }
  // Exfiltration spread over many domains: the client's encoded information across all of them.
  if (o.encoded && o.clientBytes > 0 && multiplier < 4 && pair.info[2] >= 16) {
    // Other nodes' bytes from this client count as this node's (a cluster's shared learning).
    const remoteClient = guard.remoteClientInfo.size > 0 ? guard.remoteClientInfo.get(q.client) : undefined;
    const clientDay =
      client.info[2] +
      (remoteClient === undefined
        ? 0
        : remoteClient.info[2] * Math.exp(-Math.max(0, ts - remoteClient.ts) / WINDOW_SECONDS[2]));
    const clientRatio = clientDay / (guard.budget * guard.scale * 2 * o.totalRole);
    o.clientDayBytes = clientDay;
    if (clientRatio >= 0.5)
      reasons.push(
        `${round(clientDay)} B of encoded information from ${q.client} across ${client.domains} domains in the last day${remoteClient === undefined ? '' : ' (on every node)'}`,
      );
    if (clientRatio > ratio) ratio = clientRatio;
    guard.onClientInfo?.(q.client, client, clientRatio);
  }
  o.ratio = ratio;
  o.stateScore = ratio / (1 + ratio);
  if (guard.onInfo !== null && excessBytes > 0) guard.onInfo(`${q.client} ${o.domainName}`, pair, ratio);
  o.beaconSeconds = pair.intervalMean;
}
