/**
 * Tunnel Guard's whole state as one JSON-able object, and back: what was learned (character and
 * query-type models, distributions), the per-key state, the seen-name filters and the domain
 * blocks. `dnsward analyze --state` writes it to a file; the live server keeps the
 * same object in its store. Typed arrays travel as base64.
 */
import { newClient, newDomain, newPair } from './guard-state.js';
import type { AllowOverride, DomainBlock, Quarantine, TunnelGuard } from './tunnel-guard.js';

export const SNAPSHOT_FORMAT = 'dnsward-tunnel-guard-state';
export const SNAPSHOT_VERSION = 1;

export interface GuardSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  model: { counts: Bytes; rowTotals: Bytes; costs: Bytes; observed: number };
  learned: { allowanceBits: number; budget: number; queryBudget: number };
  qtypes: Array<[number, number]>;
  nameBits: number[];
  pairDayInfo: number[];
  pendingRefresh: number;
  /** When the guard saw its first query (seconds); absent in snapshots from before it was kept. */
  learningSince?: number | null;
  seen: SeenState;
  seenPairs: SeenState;
  /** Absent in snapshots from before domains counted their users. */
  seenUsers?: SeenState;
  /** Absent in snapshots from before shared lookups were learned (shared-labels.ts). */
  sharedLabels?: SeenState;
  domains: Generations<object>;
  pairs: Array<[number, object]>[];
  nextIds: [number, number];
  clients: Generations<object>;
  blocks: Generations<DomainBlock>;
  /** Client-scoped blocks; absent in snapshots from before they existed. */
  clientBlocks?: Generations<DomainBlock>;
  counters: TunnelGuard['counters'];
  overrides: AllowOverride[];
  quarantines: Array<Omit<Quarantine, 'incident'>>;
}

interface Generations<V> {
  old: Array<[string, V]>;
  young: Array<[string, V]>;
}

interface SeenState {
  current: Bytes;
  previous: Bytes;
  inserted: number;
}

const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Typed data travels as base64 in a JSON file (`analyze --state`) and as raw bytes in the store. */
type Bytes = string | Uint8Array;
const bytesOf = (v: Bytes) => (typeof v === 'string' ? Buffer.from(v, 'base64') : v);

function float64s(text: Bytes, length: number, what: string): Float64Array {
  const bytes = bytesOf(text);
  if (bytes.length !== length * 8) throw new Error(`state: ${what} must hold ${length} numbers`);
  const out = new Float64Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** What both snapshot forms (JSON and SQLite parts) keep as plain values, besides the model and tables. */
function plainState(guard: TunnelGuard) {
  return {
    learned: { allowanceBits: guard.allowanceBits, budget: guard.budget, queryBudget: guard.queryBudget },
    qtypes: [...guard.qtypes.counts],
    nameBits: [...guard.nameBits.bins],
    pairDayInfo: [...guard.pairDayInfo.bins],
    pendingRefresh: guard.pendingRefresh,
    learningSince: guard.learningSince,
    nextIds: [guard.nextDomainId, guard.nextClientId] as [number, number],
    blocks: guard.blocks.generations(),
    clientBlocks: guard.clientBlocks.generations(),
    counters: { ...guard.counters },
    overrides: guard.overrides.map(({ match: _match, ...o }) => o),
    quarantines: guard.quarantines.map(({ match: _match, incident: _incident, ...q }) => q),
  };
}

export function snapshotGuard(guard: TunnelGuard): GuardSnapshot {
  const seen = (s: TunnelGuard['seen']): SeenState => {
    const e = s.export();
    return { current: b64(e.current), previous: b64(e.previous), inserted: e.inserted };
  };
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    model: {
      counts: b64(guard.model.counts),
      rowTotals: b64(guard.model.rowTotals),
      costs: b64(guard.model.costs),
      observed: guard.model.observed,
    },
    ...plainState(guard),
    seen: seen(guard.seen),
    seenPairs: seen(guard.seenPairs),
    seenUsers: seen(guard.seenUsers),
    sharedLabels: seen(guard.sharedLabels),
    domains: guard.domains.generations(),
    pairs: [guard.pairs.generations().old, guard.pairs.generations().young],
    clients: guard.clients.generations(),
  };
}

/**
 * Loads a snapshot into a guard built with the same options; throws with what is wrong. The
 * learned costs and parameters are restored as they were, not recomputed, so a run split by a
 * save and a restore decides exactly as one run would.
 */
export function restoreGuard(guard: TunnelGuard, s: GuardSnapshot): void {
  if (s?.format !== SNAPSHOT_FORMAT) throw new Error(`state: not a ${SNAPSHOT_FORMAT} file`);
  if (s.version !== SNAPSHOT_VERSION)
    throw new Error(`state: version ${s.version} is not the supported ${SNAPSHOT_VERSION}`);
  guard.model.counts.set(float64s(s.model.counts, guard.model.counts.length, 'model.counts'));
  guard.model.rowTotals.set(float64s(s.model.rowTotals, guard.model.rowTotals.length, 'model.rowTotals'));
  const costs = bytesOf(s.model.costs);
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
  guard.learningSince = s.learningSince ?? null;
  const seen = (state: SeenState) => ({
    current: bytesOf(state.current),
    previous: bytesOf(state.previous),
    inserted: state.inserted,
  });
  guard.seen.import(seen(s.seen));
  guard.seenPairs.import(seen(s.seenPairs));
  if (s.seenUsers !== undefined) guard.seenUsers.import(seen(s.seenUsers));
  if (s.sharedLabels !== undefined) guard.sharedLabels.import(seen(s.sharedLabels));
  const revive = <V>(g: Generations<object>, make: () => V) => {
    const one = ([k, v]: [string, object]): [string, V] => [k, Object.assign(make() as object, v) as V];
    return { old: g.old.map(one), young: g.young.map(one) };
  };
  guard.domains.restore(revive(s.domains, () => newDomain(0)));
  guard.pairs.restore({
    old: s.pairs[0].map(([k, v]) => [k, Object.assign(newPair(0), v)]),
    young: s.pairs[1].map(([k, v]) => [k, Object.assign(newPair(0), v)]),
  });
  [guard.nextDomainId, guard.nextClientId] = s.nextIds;
  const clients = revive(s.clients, () => newClient(0));
  // Snapshots from before the recent count: every domain counts as recent, as of the client's last information.
  for (const [, c] of [...clients.old, ...clients.young])
    if (c.recentDomains === 0 && c.domains > 0) {
      c.recentDomains = c.domains;
      c.recentDomainsTs = c.infoTs;
    }
  guard.clients.restore(clients);
  // Blocks saved before blocks had a scope were all for everyone.
  const scoped = (g: Generations<DomainBlock>, scope: DomainBlock['scope']) => {
    const one = ([k, b]: [string, DomainBlock]): [string, DomainBlock] => [k, { ...b, scope: b.scope ?? scope }];
    return { old: g.old.map(one), young: g.young.map(one) };
  };
  guard.blocks.restore(scoped(s.blocks, 'domain'));
  guard.clientBlocks.restore(scoped(s.clientBlocks ?? { old: [], young: [] }, 'client'));
  Object.assign(guard.counters, s.counters);
  guard.overrides = [];
  for (const o of s.overrides ?? []) guard.allow(o);
  guard.quarantines = [];
  for (const q of s.quarantines ?? []) guard.quarantine(q);
}

/**
 * The same state for the store, built without stalling the query path: typed arrays as raw
 * bytes (copied), the three per-key tables as JSON built a few hundred entries at a time with
 * `pause()` between (the server passes setImmediate). Entries touched while it is being built
 * may be saved as they were a moment earlier: a snapshot is a checkpoint, not a transaction.
 */
export interface SnapshotParts {
  meta: string;
  blobs: Record<string, Uint8Array>;
  /**
   * JSON, as bytes: one blob (loaded from the store) or the chunks it is made of (a snapshot
   * being saved). Joining 100 MB of chunks stalls the event loop for 0.1–0.4 s, so the writer
   * thread joins them.
   */
  tables: Record<'domains' | 'pairs' | 'clients', Uint8Array | Uint8Array[]>;
}

/** Entries per step: about 0.3 ms of work between two turns of the event loop. */
const CHUNK = 100;

export async function snapshotGuardParts(guard: TunnelGuard, pause: () => Promise<void>): Promise<SnapshotParts> {
  const build = buildParts(guard);
  for (let step = build.next(); ; step = build.next()) {
    if (step.done) return step.value;
    await pause();
  }
}

/** The same, built in one go on this thread (shutdown, operator changes). */
export function snapshotGuardPartsNow(guard: TunnelGuard): SnapshotParts {
  const build = buildParts(guard);
  for (let step = build.next(); ; step = build.next()) if (step.done) return step.value;
}

function* buildParts(guard: TunnelGuard): Generator<void, SnapshotParts> {
  const copy = (a: ArrayBufferView) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const seen = guard.seen.export();
  const seenPairs = guard.seenPairs.export();
  const seenUsers = guard.seenUsers.export();
  const sharedLabels = guard.sharedLabels.export();
  const blobs = {
    counts: copy(guard.model.counts),
    rowTotals: copy(guard.model.rowTotals),
    costs: copy(guard.model.costs),
    seenCurrent: copy(seen.current),
    seenPrevious: copy(seen.previous),
    seenPairsCurrent: copy(seenPairs.current),
    seenPairsPrevious: copy(seenPairs.previous),
    seenUsersCurrent: copy(seenUsers.current),
    seenUsersPrevious: copy(seenUsers.previous),
    sharedLabelsCurrent: copy(sharedLabels.current),
    sharedLabelsPrevious: copy(sharedLabels.previous),
  };
  const meta = JSON.stringify({
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    observed: guard.model.observed,
    ...plainState(guard),
    seenInserted: seen.inserted,
    seenPairsInserted: seenPairs.inserted,
    seenUsersInserted: seenUsers.inserted,
    sharedLabelsInserted: sharedLabels.inserted,
  });
  yield;
  function* part<K, V>(entries: IterableIterator<[K, V]>, out: Buffer[]): Generator<void, void> {
    let chunk: Array<[K, V]> = [];
    let first = true;
    const flush = () => {
      out.push(Buffer.from(`${first ? '' : ','}${JSON.stringify(chunk).slice(1, -1)}`, 'utf8'));
      first = false;
      chunk = [];
    };
    for (const entry of entries) {
      chunk.push(entry);
      if (chunk.length === CHUNK) {
        flush();
        yield;
      }
    }
    if (chunk.length > 0) flush();
  }
  function* table<K, V>(g: {
    old: IterableIterator<[K, V]>;
    young: IterableIterator<[K, V]>;
  }): Generator<void, Uint8Array[]> {
    const out: Buffer[] = [Buffer.from('{"old":[')];
    yield* part(g.old, out);
    out.push(Buffer.from('],"young":['));
    yield* part(g.young, out);
    out.push(Buffer.from(']}'));
    return out;
  }
  const domains = yield* table(guard.domains.generationIterators());
  const pairs = yield* table(guard.pairs.generationIterators());
  const clients = yield* table(guard.clients.generationIterators());
  return { meta, blobs, tables: { domains, pairs, clients } };
}

/** Restores what snapshotGuardParts saved (see restoreGuard for the guarantees and errors). */
export function restoreGuardParts(guard: TunnelGuard, parts: SnapshotParts): void {
  const m = JSON.parse(parts.meta) as Record<string, unknown> & {
    observed: number;
    seenInserted: number;
    seenPairsInserted: number;
    seenUsersInserted?: number;
    sharedLabelsInserted?: number;
  };
  const b = parts.blobs;
  const text = (t: Uint8Array | Uint8Array[]) =>
    (Array.isArray(t) ? Buffer.concat(t) : Buffer.from(t.buffer, t.byteOffset, t.byteLength)).toString('utf8');
  const pairs = JSON.parse(text(parts.tables.pairs)) as Generations<object> & {
    old: Array<[number, object]>;
    young: Array<[number, object]>;
  };
  restoreGuard(guard, {
    ...(m as unknown as GuardSnapshot),
    model: { counts: b.counts, rowTotals: b.rowTotals, costs: b.costs, observed: m.observed },
    seen: { current: b.seenCurrent, previous: b.seenPrevious, inserted: m.seenInserted },
    seenPairs: { current: b.seenPairsCurrent, previous: b.seenPairsPrevious, inserted: m.seenPairsInserted },
    seenUsers:
      b.seenUsersCurrent === undefined
        ? undefined
        : { current: b.seenUsersCurrent, previous: b.seenUsersPrevious, inserted: m.seenUsersInserted ?? 0 },
    sharedLabels:
      b.sharedLabelsCurrent === undefined
        ? undefined
        : { current: b.sharedLabelsCurrent, previous: b.sharedLabelsPrevious, inserted: m.sharedLabelsInserted ?? 0 },
    domains: JSON.parse(text(parts.tables.domains)) as Generations<object>,
    clients: JSON.parse(text(parts.tables.clients)) as Generations<object>,
    pairs: [pairs.old, pairs.young],
  });
}

/**
 * The operator's decisions, kept apart from the snapshot in a small row of their own so that an
 * allow, an unblock or a quarantine is durable at once without serialising what was learned.
 * Applied over a restored snapshot, they win: they are always at least as new as it.
 */
export interface OperatorState {
  overrides: AllowOverride[];
  quarantines: Array<Omit<Quarantine, 'incident'>>;
  /** Blocks an operator lifted (block key, incident, when in seconds): lifted again if a restored snapshot still has them. */
  unblocked: Array<[string, string, number]>;
  /** Until when (seconds) an operator put Tunnel Guard in monitor mode, or null. */
  monitorUntil: number | null;
}

export function operatorState(guard: TunnelGuard, monitorUntil: number | null): OperatorState {
  return {
    overrides: guard.overrides.map(({ match: _match, ...o }) => o),
    quarantines: guard.quarantines.map(({ match: _match, incident: _incident, ...q }) => q),
    unblocked: [...guard.unblocked].map(([domain, u]): [string, string, number] => [domain, u.incident, u.at]),
    monitorUntil,
  };
}

/** Applies saved operator decisions over a restored guard (expired ones are dropped); returns monitorUntil. */
export function applyOperatorState(guard: TunnelGuard, s: OperatorState, now: number): number | null {
  guard.overrides = [];
  for (const o of s.overrides ?? []) if (o.until > now) guard.allow(o);
  guard.quarantines = [];
  for (const q of s.quarantines ?? []) if (q.until > now) guard.quarantine(q);
  for (const [key, incident, at] of s.unblocked ?? []) {
    // A key with a space is a client-scoped block's (see clientBlockKey).
    const map = key.includes(' ') ? guard.clientBlocks : guard.blocks;
    if (map.peek(key)?.incident === incident) map.delete(key);
    guard.noteUnblock(key, incident, at);
  }
  return s.monitorUntil !== null && s.monitorUntil !== undefined && s.monitorUntil > now ? s.monitorUntil : null;
}
