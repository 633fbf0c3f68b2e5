/**
 * Tunnel Guard's whole state as one JSON-able object, and back: what was learned (character and
 * query-type models, distributions), the per-key state, the seen-name filters and the domain
 * blocks. `dnsward analyze --state` writes it to a file; the live server (issue 4) keeps the
 * same object in its store. Typed arrays travel as base64.
 */
import { newClient, newDomain, newPair } from './guard-state.js';
import type { AllowOverride, DomainBlock, Quarantine, TunnelGuard } from './tunnel-guard.js';

export const SNAPSHOT_FORMAT = 'dnsward-tunnel-guard-state';
export const SNAPSHOT_VERSION = 1;

export interface GuardSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  model: { counts: string; rowTotals: string; costs: string; observed: number };
  learned: { allowanceBits: number; budget: number; queryBudget: number };
  qtypes: Array<[number, number]>;
  nameBits: number[];
  pairDayInfo: number[];
  pendingRefresh: number;
  seen: SeenState;
  seenPairs: SeenState;
  domains: Generations<object>;
  pairs: Array<[number, object]>[];
  nextIds: [number, number];
  clients: Generations<object>;
  blocks: Generations<DomainBlock>;
  counters: TunnelGuard['counters'];
  overrides: AllowOverride[];
  quarantines: Array<Omit<Quarantine, 'incident'>>;
}

interface Generations<V> {
  old: Array<[string, V]>;
  young: Array<[string, V]>;
}

interface SeenState {
  current: string;
  previous: string;
  inserted: number;
}

const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function float64s(text: string, length: number, what: string): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length * 8) throw new Error(`state: ${what} must hold ${length} numbers`);
  const out = new Float64Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function snapshotGuard(guard: TunnelGuard): GuardSnapshot {
  const seen = (s: TunnelGuard['seen']): SeenState => {
    const e = s.export();
    return { current: b64(e.current), previous: b64(e.previous), inserted: e.inserted };
  };
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    model: { counts: b64(guard.model.counts), rowTotals: b64(guard.model.rowTotals), costs: b64(guard.model.costs), observed: guard.model.observed },
    learned: { allowanceBits: guard.allowanceBits, budget: guard.budget, queryBudget: guard.queryBudget },
    qtypes: [...guard.qtypes.counts],
    nameBits: [...guard.nameBits.bins],
    pairDayInfo: [...guard.pairDayInfo.bins],
    pendingRefresh: guard.pendingRefresh,
    seen: seen(guard.seen),
    seenPairs: seen(guard.seenPairs),
    domains: guard.domains.generations(),
    pairs: [guard.pairs.generations().old, guard.pairs.generations().young],
    nextIds: [guard.nextDomainId, guard.nextClientId],
    clients: guard.clients.generations(),
    blocks: guard.blocks.generations(),
    counters: { ...guard.counters },
    overrides: guard.overrides.map(({ match: _match, ...o }) => o),
    quarantines: guard.quarantines.map(({ match: _match, incident: _incident, ...q }) => q),
  };
}

/**
 * Loads a snapshot into a guard built with the same options; throws with what is wrong. The
 * learned costs and parameters are restored as they were, not recomputed, so a run split by a
 * save and a restore decides exactly as one run would.
 */
export function restoreGuard(guard: TunnelGuard, s: GuardSnapshot): void {
  if (s?.format !== SNAPSHOT_FORMAT) throw new Error(`state: not a ${SNAPSHOT_FORMAT} file`);
  if (s.version !== SNAPSHOT_VERSION) throw new Error(`state: version ${s.version} is not the supported ${SNAPSHOT_VERSION}`);
  guard.model.counts.set(float64s(s.model.counts, guard.model.counts.length, 'model.counts'));
  guard.model.rowTotals.set(float64s(s.model.rowTotals, guard.model.rowTotals.length, 'model.rowTotals'));
  const costs = Buffer.from(s.model.costs, 'base64');
  if (costs.length !== guard.model.costs.byteLength) throw new Error('state: model.costs has the wrong size');
  new Uint8Array(guard.model.costs.buffer).set(costs);
  guard.model.observed = s.model.observed;
  guard.allowanceBits = s.learned.allowanceBits;
  guard.budget = s.learned.budget;
  guard.queryBudget = s.learned.queryBudget;
  guard.qtypes.counts.clear();
  guard.qtypes.total = 0;
  for (const [qtype, count] of s.qtypes) guard.qtypes.learn(qtype, count);
  guard.nameBits.load(s.nameBits);
  guard.pairDayInfo.load(s.pairDayInfo);
  guard.pendingRefresh = s.pendingRefresh;
  const seen = (state: SeenState) => ({ current: Buffer.from(state.current, 'base64'), previous: Buffer.from(state.previous, 'base64'), inserted: state.inserted });
  guard.seen.import(seen(s.seen));
  guard.seenPairs.import(seen(s.seenPairs));
  const revive = <V>(g: Generations<object>, make: () => V) => {
    const one = ([k, v]: [string, object]): [string, V] => [k, Object.assign(make() as object, v) as V];
    return { old: g.old.map(one), young: g.young.map(one) };
  };
  guard.domains.restore(revive(s.domains, () => newDomain(0)));
  guard.pairs.restore({ old: s.pairs[0].map(([k, v]) => [k, Object.assign(newPair(0), v)]), young: s.pairs[1].map(([k, v]) => [k, Object.assign(newPair(0), v)]) });
  [guard.nextDomainId, guard.nextClientId] = s.nextIds;
  guard.clients.restore(revive(s.clients, () => newClient(0)));
  guard.blocks.restore(s.blocks);
  Object.assign(guard.counters, s.counters);
  guard.overrides = [];
  for (const o of s.overrides ?? []) guard.allow(o);
  guard.quarantines = [];
  for (const q of s.quarantines ?? []) guard.quarantine(q);
}
