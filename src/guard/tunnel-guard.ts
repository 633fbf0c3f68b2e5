/**
 * Tunnel Guard: the staged, self-learning detector of DNS tunnels and exfiltration. A library
 * without I/O and without clocks (time comes with each query), so the live pipeline and
 * `dnsward analyze` drive the same engine and get the same results for the same input.
 *
 * This file orchestrates; each stage is a file of stages/ behind one contract
 * (stages/observation.ts):
 *   stage 0  anatomy   registered domain / subdomain on the PSL; binary labels kept
 *   stage 1  query     information in the new subdomain under this network's character model,
 *                      label shapes, query type rarity, whether the name is new
 *   stage 2  state     information sent per client × domain in minute/hour/day windows,
 *                      unique names, beacon regularity, per-client totals across domains
 *   stage 3  normal    the learned normal: budgets from this network's distributions, and the
 *                      recognition of legitimate heavy encoders (spread over clients, one stable
 *                      template, age, a short documented list as extra evidence)
 *   stage 4  decision  allow, monitor or block, for the query or the whole registered domain;
 *                      domain blocks expire and escalate (domain-blocks.ts)
 * Operators' allows and quarantines: operator-overrides.ts. What the console reads:
 * guard-read-model.ts. Those parts and the stages see the guard as a GuardContext
 * (guard-context.ts), so none of them imports this file.
 *
 * Per query: a constant number of map lookups and a pass over the name's bytes. Memory: capped
 * LRU maps (domains, clients, pairs) plus fixed sketches; see README.md for the measured bounds.
 */
import type { Cidr } from '../util/cidr.js';
import { TwoGenerationMap } from '../util/two-generation-map.js';
import { wireKeyOf } from '../dns/name.js';
import { CharacterModel } from './character-model.js';
import { checksMail, resolvesForMany } from './client-role.js';
import * as blocksOf from './domain-blocks.js';
import type { GuardContext, RemoteWindows } from './guard-context.js';
import { addInfo, type ClientState, type DomainState, pairKey, type PairState } from './guard-state.js';
import * as readModel from './guard-read-model.js';
import { clamp, lowerAscii } from './guard-text.js';
import type {
  AllowOverride,
  DomainBlock,
  GuardCounters,
  GuardQuery,
  GuardResponse,
  Learning,
  Quarantine,
  TunnelGuardOptions,
} from './guard-types.js';
import { LogHistogram } from './log-histogram.js';
import { anatomize } from './name-anatomy.js';
import * as operator from './operator-overrides.js';
import { PRIOR } from './prior-data.js';
import { QtypeModel } from './qtype-model.js';
import { SeenNames } from './seen-names.js';
import { newSharedLabelFilter } from './shared-labels.js';
import { anatomyStage, readAnatomy, standingBlock } from './stages/anatomy-stage.js';
import { decide, decisionStage } from './stages/decision-stage.js';
import { judgeNormal, normalStage } from './stages/normal-stage.js';
import { Observation } from './stages/observation.js';
import { carriesPayload, queryStage, weighQuery } from './stages/query-stage.js';
import { account, stateStage, weighState } from './stages/state-stage.js';
import { type Sensitivity, SENSITIVITY_SCALE, type StageReport, type Verdict } from './verdict.js';

export type {
  AllowOverride,
  DomainBlock,
  GuardCounters,
  GuardQuery,
  GuardResponse,
  Learning,
  Quarantine,
  TunnelGuardOptions,
} from './guard-types.js';
export { carriesPayload } from './stages/query-stage.js';
export { clientBlockKey } from './domain-blocks.js';
export { cidrList } from './operator-overrides.js';

/** Learned parameters are recomputed after this many new names, and at these points only (determinism). */
const REFRESH_EVERY = 4096;
/** Per refresh, old learning keeps this weight: half-life about 2.8M new names. */
const LEARNING_DECAY = 0.999;
const PRIOR_WEIGHT_NAMES = 20_000;
/** Downstream payload counted per answer, at most (see observeResponse). */
const MAX_DOWNSTREAM_BYTES = 64;
/** The trace of a plain allow nobody asked to explain. */
const UNTRACED: StageReport[] = [];
const STAGES = [anatomyStage, queryStage, stateStage, normalStage, decisionStage] as const;

/**
 * Bounds on what learning may set, so a noisy network cannot loosen detection past usefulness
 * and a quiet one cannot make it trigger-happy. Bytes of excess information.
 */
const BUDGET_FLOOR = 192;
const BUDGET_CEILING = 768;
const QUERY_BUDGET_FLOOR = 96;
const QUERY_BUDGET_CEILING = 256;

export class TunnelGuard implements GuardContext {
  readonly model = new CharacterModel();
  readonly qtypes = new QtypeModel();
  /** Bits of new names' subdomains, network-wide: the per-query allowance and the query budget. */
  readonly nameBits = new LogHistogram();
  /** Day-window excess information of client × domain pairs, sampled at their new names. */
  readonly pairDayInfo = new LogHistogram();
  readonly domains: TwoGenerationMap<string, DomainState>;
  readonly clients: TwoGenerationMap<string, ClientState>;
  readonly pairs: TwoGenerationMap<number, PairState>;
  readonly blocks = new TwoGenerationMap<string, DomainBlock>(blocksOf.MAX_BLOCKS);
  /** Client-scoped blocks, keyed `client domain` (see clientBlockKey). */
  readonly clientBlocks = new TwoGenerationMap<string, DomainBlock>(blocksOf.MAX_BLOCKS);
  readonly seen: SeenNames;
  /** Distinct client × domain pairs, so a domain's client count survives pair eviction. */
  readonly seenPairs: SeenNames;
  /** Client × name and client × domain pairs seen, repeats included: a domain's users (see DomainState.users). */
  readonly seenUsers: SeenNames;
  /** Long labels per client and per domain: lookups other clients share (shared-labels.ts). */
  readonly sharedLabels = newSharedLabelFilter();
  readonly counters: GuardCounters = {
    queries: 0,
    newNames: 0,
    queryBlocks: 0,
    domainBlocks: 0,
    blockedByDomain: 0,
    monitored: 0,
    learnedNames: 0,
    repeats: 0,
    quarantined: 0,
    allowedByOperator: 0,
    clientDomainBlocks: 0,
    blockedByClientDomain: 0,
    sharedLifts: 0,
  };
  overrides: Array<AllowOverride & { match: Cidr | undefined }> = [];
  /**
   * Whether the random-subdomain flood detector has flagged a registered domain now: such a
   * domain is a victim many clients hit, not a tunnel's, so a budget tripped on it costs only the
   * client that tripped it (a client-scoped block), never the domain for everyone. The flood is
   * the flood stage's to limit (src/pipeline/stages/flood-stage.ts).
   */
  isFlooded: ((domain: string) => boolean) | null = null;
  quarantines: Array<Quarantine & { match: Cidr }> = [];
  /** Operator unblocks (block key → the incident lifted, when), oldest first, for as long as that block could last. */
  unblocked = new Map<string, { incident: string; at: number }>();
  /** The sensitivity's scale on every budget. */
  scale: number;
  /** Next record ids (see pairKey). */
  nextDomainId = 0;
  nextClientId = 0;
  /** New names learned since the last refresh point. */
  pendingRefresh = 0;
  /** When this guard saw its first query (seconds): how long the network has been learned. */
  learningSince: number | null = null;
  /** Told of every block this guard starts (a cluster shares them); not of blocks set from outside. */
  onBlock: ((domain: string, block: DomainBlock) => void) | null = null;
  /**
   * Told when a client × domain pair's information windows grew, with how close they (and the
   * other evidence of stage 2) are to a budget (1: at it). A cluster shares the suspect ones.
   * Set only in a cluster: the pair's `client domain` string is built for it.
   */
  onInfo: ((pairName: string, pair: PairState, ratio: number) => void) | null = null;
  /**
   * Other nodes' information windows of client × domain pairs (`client domain` → windows at
   * `ts`), added to this node's own when a budget is checked: a tunnel spread over several
   * nodes spends one budget. Bounded by the cluster (src/cluster/shared-learning.ts).
   */
  readonly remoteInfo: RemoteWindows = new Map();
  /** Told when a client's windows across domains grew, with its ratio to that budget (a cluster shares them). */
  onClientInfo: ((client: string, state: ClientState, ratio: number) => void) | null = null;
  /** Other nodes' windows of a client across domains (client → windows at `ts`), added to this node's own. */
  readonly remoteClientInfo: RemoteWindows = new Map();
  /** Learned parameters, recomputed at refresh points. */
  allowanceBits = 24;
  budget = BUDGET_FLOOR;
  queryBudget = QUERY_BUDGET_CEILING;

  constructor(readonly options: TunnelGuardOptions = {}) {
    this.scale = SENSITIVITY_SCALE[options.sensitivity ?? 'medium'];
    this.domains = new TwoGenerationMap(options.maxDomains ?? 1_000_000);
    this.clients = new TwoGenerationMap(options.maxClients ?? 100_000);
    this.pairs = new TwoGenerationMap(options.maxPairs ?? 1_000_000);
    this.seen = new SeenNames(options.seenNameBits ?? 24, undefined, options.sharedSeen?.names);
    this.seenPairs = new SeenNames(options.seenNameBits ?? 24);
    this.seenUsers = new SeenNames(options.seenNameBits ?? 24, undefined, options.sharedSeen?.users);
    if (options.prior !== false) this.loadPrior();
    this.relearn();
  }

  /**
   * The shipped prior counts as PRIOR_WEIGHT_NAMES names of this network, so what the network
   * itself shows outweighs it within tens of thousands of names.
   */
  private loadPrior(): void {
    if (PRIOR.names === 0) return;
    const counts = new Float64Array(this.model.counts.length);
    for (const [index, count] of PRIOR.counts) counts[index] = count;
    this.importLearning(
      { counts, qtypes: PRIOR.qtypes, nameBits: PRIOR.nameBits, pairDayInfo: PRIOR.pairDayInfo },
      Math.min(1, PRIOR_WEIGHT_NAMES / PRIOR.names),
    );
  }

  /** Adds learning exported elsewhere (the prior, another guard), weighted; call relearn() after. */
  importLearning(l: Learning, weight: number): void {
    this.model.absorb(l.counts, weight);
    for (const [qtype, count] of l.qtypes) this.qtypes.learn(qtype, count * weight);
    this.nameBits.load(l.nameBits.map((v, i) => v * weight + this.nameBits.bins[i]));
    this.pairDayInfo.load(l.pairDayInfo.map((v, i) => v * weight + this.pairDayInfo.bins[i]));
  }

  /** What was learned of the network's normal (not the per-key state): the prior's format. */
  exportLearning(): Learning {
    return {
      counts: this.model.counts.slice(),
      qtypes: [...this.qtypes.counts],
      nameBits: [...this.nameBits.bins],
      pairDayInfo: [...this.pairDayInfo.bins],
    };
  }

  /**
   * The live path's shortcut: true when a query for this wire name would be a plain repeat (seen
   * before, no block, no quarantine, and asked by this client before), counted as observe()
   * would count it. The caller then skips observe(): same decision, same state, without
   * building labels. A client's first ask of a name goes through observe(), which counts the
   * client among the domain's users.
   */
  isPlainRepeat(wireKey: string, client?: string): boolean {
    if (this.blocks.size > 0 || this.clientBlocks.size > 0 || this.quarantines.length > 0 || !this.seen.has(wireKey))
      return false;
    // seen.has() just hashed the name: the pair check reuses its hashes.
    if (client !== undefined && !this.seenUsers.hasPairWithLast(client, this.seen)) return false;
    this.counters.queries++;
    this.counters.repeats++;
    return true;
  }

  observe(q: GuardQuery): Verdict {
    this.counters.queries++;
    const ts = q.ts;
    this.learningSince ??= ts;
    // Operator decisions come first: a quarantined client gets nothing.
    if (this.quarantines.length > 0) {
      const quarantine = this.quarantineOf(q.client, ts);
      if (quarantine !== undefined) {
        this.counters.quarantined++;
        return operator.quarantineVerdict(q.labels, q.client, quarantine);
      }
    }
    const lower = q.labels.map(lowerAscii);
    const seenKey = q.wireKey ?? wireKeyOf(lower);
    // A name seen before carries no new information: unless its domain is blocked, nothing to weigh.
    if (this.seen.has(seenKey) && !blocksOf.isBlockedName(this, lower, ts, q.client)) {
      this.counters.repeats++;
      // A client asking a name others asked first is still one of its domain's users (the
      // seen.has() above left this name's hashes in place for the pair).
      if (this.seenUsers.addPairWithLastIfNew(q.client, this.seen)) {
        const known = anatomize(lower).registeredDomain;
        const d = this.domains.peek(known);
        if (d !== undefined && this.seenUsers.addPairIfNew(q.client, known)) d.users++;
      }
      return new RepeatVerdict(lower);
    }
    const o = new Observation(this, q, lower, seenKey);
    readAnatomy(this, o);
    const blocked = standingBlock(this, o);
    if (blocked !== undefined) return blocked;
    weighQuery(this, o);
    account(this, o);
    judgeNormal(o);
    weighState(this, o);
    decide(this, o);
    // The trace is built only when someone will read it (analyze, or any verdict but a plain allow).
    const traced = q.explain !== false || o.action !== 'allow' || o.reasons.length > 0;
    const stages = traced ? STAGES.map((stage) => stage.report(o)) : UNTRACED;
    // Learning: only from what looks normal, so a tunnel never teaches that it is normal.
    // What an operator allowed is known-good, whatever it looks like. Pairs judged by a role
    // (protocol records, a mail gateway's DNS lists, a resolver for many) do not teach the budget
    // every client meets.
    if (o.isNew && (this.options.learnAll === true || o.override !== undefined || (o.ratio < 0.3 && !o.queryTooBig))) {
      this.learnName(
        o.anatomy.subdomainLabels,
        o.rawBits,
        o.normal.multiplier < 4 && o.service === undefined && !checksMail(o.client) && !resolvesForMany(o.client, ts)
          ? o.pair.info[2]
          : -1,
      );
    }
    return {
      action: o.action,
      scope: o.scope,
      domain: o.domainName,
      score: Math.round(o.score * 100) / 100,
      reasons: o.reasons,
      stages,
      incident: o.incident,
      leakedBytes: Math.round(o.leaked * 100) / 100,
      firstSeen: o.domain.firstSeen,
    };
  }

  /** Answers, when seen: NXDOMAIN ratio and information carried back in TXT/NULL/CNAME payloads. */
  observeResponse(r: GuardResponse): void {
    const anatomy = anatomize(r.labels.map(lowerAscii));
    const domain = this.domains.peek(anatomy.registeredDomain);
    if (domain === undefined) return;
    domain.responses++;
    if (r.rcode === 3) domain.nxdomain++;
    // Only answers to the types tunnels ask for carry their downstream: a browser's A query
    // answered with a CDN's CNAME chain is not a payload.
    if (!carriesPayload(r.qtype)) return;
    const payload = r.payloadBytes ?? Math.max(0, (r.answerSize ?? 0) - 128);
    if (payload <= 0) return;
    domain.downstream += payload;
    const client = this.clients.peek(r.client);
    const pair = client === undefined ? undefined : this.pairs.peek(pairKey(client, domain));
    // Downstream payload only reinforces upstream evidence: one big TXT record (SPF, site
    // verification) must never make a client suspect by itself. It counts at a quarter of its
    // size, at most MAX_DOWNSTREAM_BYTES per answer, for pairs already sending encoded names.
    if (pair !== undefined && pair.uniqueNames >= 2 && pair.leaked > 0)
      addInfo(pair, r.ts, Math.min(payload / 4, MAX_DOWNSTREAM_BYTES));
  }

  overrideFor(domain: string, client: string, ts: number): AllowOverride | undefined {
    return operator.overrideFor(this, domain, client, ts);
  }

  quarantineOf(client: string, ts: number): Quarantine | undefined {
    return operator.quarantineOf(this, client, ts);
  }

  /** Adds an operator's allow; a domain allow also lifts its block. Throws on a bad CIDR. */
  allow(o: AllowOverride): void {
    operator.allow(this, o);
  }

  /** Removes allows for exactly this domain and client range; returns how many. */
  disallow(domain: string | undefined, client: string | undefined): number {
    return operator.disallow(this, domain, client);
  }

  quarantine(q: Omit<Quarantine, 'incident'>): Quarantine {
    return operator.quarantine(this, q);
  }

  release(client: string): boolean {
    return operator.release(this, client);
  }

  /** Drops expired allows and quarantines (the caller's clock). */
  expire(now: number): void {
    operator.expire(this, now);
  }

  describeDomain(domainName: string, now: number): ReturnType<typeof readModel.describeDomain> {
    return readModel.describeDomain(this, domainName, now);
  }

  searchDomains(text: string, limit: number, now: number): ReturnType<typeof readModel.searchDomains> {
    return readModel.searchDomains(this, text, limit, now);
  }

  describeClient(client: string, now: number): ReturnType<typeof readModel.describeClient> {
    return readModel.describeClient(this, client, now);
  }

  recognisedEncoders(now: number, limit = 100): ReturnType<typeof readModel.recognisedEncoders> {
    return readModel.recognisedEncoders(this, now, limit);
  }

  setSensitivity(sensitivity: Sensitivity): void {
    this.scale = SENSITIVITY_SCALE[sensitivity];
  }

  /**
   * Lifts a domain's blocks, for everyone and client-scoped (an operator decision, or the
   * tests). With `at`, the lifts are remembered (see `unblocked`) so a restore from a snapshot
   * taken before them lifts those blocks again.
   */
  unblock(domain: string, at?: number): boolean {
    const lifted = this.blocksOn(domain);
    for (const { key, block } of lifted) {
      this.blockMap(block).delete(key);
      if (at !== undefined) this.noteUnblock(key, block.incident, at);
    }
    return lifted.length > 0;
  }

  blocksOn(domain: string): Array<{ key: string; block: DomainBlock }> {
    return blocksOf.blocksOn(this, domain);
  }

  /** Puts back blocks taken by blocksOn() and lifted (an operator change that could not be saved). */
  restoreBlocks(blocks: Array<{ key: string; block: DomainBlock }>): void {
    for (const { key, block } of blocks) this.blockMap(block).set(key, block);
  }

  blockMap(block: Pick<DomainBlock, 'scope'>): TwoGenerationMap<string, DomainBlock> {
    return blocksOf.blockMap(this, block);
  }

  noteUnblock(key: string, incident: string, at: number): void {
    blocksOf.noteUnblock(this, key, incident, at);
  }

  activeBlocks(now: number): Array<{ domain: string } & DomainBlock> {
    return blocksOf.activeBlocks(this, now);
  }

  private learnName(labels: string[], bits: number, pairDayBytes: number): void {
    for (const label of labels) this.model.learn(label);
    this.nameBits.add(bits);
    // Budgets apply to domains not recognised as encoders, so only their pairs teach the budget.
    if (pairDayBytes >= 0) this.pairDayInfo.add(pairDayBytes);
    this.counters.learnedNames++;
    if (++this.pendingRefresh >= REFRESH_EVERY) {
      this.pendingRefresh = 0;
      this.model.decay(LEARNING_DECAY);
      this.qtypes.decay(LEARNING_DECAY);
      this.nameBits.decay(LEARNING_DECAY);
      this.pairDayInfo.decay(LEARNING_DECAY);
      this.relearn();
    }
  }

  /** Recomputes the learned parameters from the model and distributions. */
  relearn(): void {
    if (this.options.relearner !== undefined && this.counters.learnedNames > 0)
      this.options.relearner.request(this.model);
    else this.model.refresh();
    this.allowanceBits = clamp(this.nameBits.quantile(0.5, 24), 16, 48);
    this.queryBudget = clamp(
      ((this.nameBits.quantile(0.9999, 1600) - this.allowanceBits) / 8) * 1.5,
      QUERY_BUDGET_FLOOR,
      QUERY_BUDGET_CEILING,
    );
    this.budget = clamp(2 * this.pairDayInfo.quantile(0.999, BUDGET_FLOOR), BUDGET_FLOOR, BUDGET_CEILING);
  }
}

/** Whether a verdict is the one on a name seen before (observe() weighed nothing new). */
export function isRepeatVerdict(verdict: Verdict): boolean {
  return verdict instanceof RepeatVerdict;
}

/**
 * The verdict on a name seen before: allow, with no state touched. Its domain and trace are
 * worked out only if someone reads them (`dnsward analyze` does; the live path does not).
 */
class RepeatVerdict implements Verdict {
  readonly action = 'allow' as const;
  readonly scope = 'none' as const;
  readonly score = 0;
  readonly reasons: string[] = [];
  readonly leakedBytes = 0;
  readonly firstSeen = 0;
  readonly incident = undefined;
  private registered: string | undefined;
  constructor(private readonly lower: string[]) {}

  get domain(): string {
    return (this.registered ??= anatomize(this.lower).registeredDomain);
  }

  get stages(): StageReport[] {
    return [
      { name: 'anatomy', score: 0, evidence: { domain: this.domain } },
      { name: 'query', score: 0, evidence: { newName: false } },
      { name: 'state', score: 0, evidence: {} },
      { name: 'normal', score: 0, evidence: {} },
      { name: 'decision', score: 0, evidence: { action: 'allow', scope: 'none' } },
    ];
  }
}
