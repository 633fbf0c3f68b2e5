/**
 * Tunnel Guard: the staged, self-learning detector of DNS tunnels and exfiltration. A library
 * without I/O and without clocks (time comes with each query), so the live pipeline and
 * `dnsward analyze` drive the same engine and get the same results for the same input.
 *
 *   stage 0  anatomy   registered domain / subdomain on the PSL; binary labels kept
 *   stage 1  query     information in the new subdomain under this network's character model,
 *                      label shapes, query type rarity, whether the name is new
 *   stage 2  state     information sent per client × domain in minute/hour/day windows,
 *                      unique names, beacon regularity, per-client totals across domains
 *   stage 3  normal    the learned normal: budgets from this network's distributions, and the
 *                      recognition of legitimate heavy encoders (spread over clients, one stable
 *                      template, age, a short documented list as extra evidence)
 *   stage 4  decision  allow, monitor or block, for the query or the whole registered domain;
 *                      domain blocks expire and escalate
 *
 * Per query: a constant number of map lookups and a pass over the name's bytes. Memory: capped
 * LRU maps (domains, clients, pairs) plus fixed sketches; see README.md for the measured bounds.
 */
import { type Cidr, cidrContains, parseCidr } from '../util/cidr.js';
import { TwoGenerationMap } from '../util/two-generation-map.js';
import { murmur3 } from '../util/hash.js';
import { CharacterModel } from './character-model.js';
import { activeHourCount, addInfo, type ClientState, type DomainState, ID_SPACE, markActive, newClient, newDomain, newPair, pairKey, type PairState, WINDOW_NAMES, WINDOW_SECONDS } from './guard-state.js';
import { knownEncoder } from './known-encoders.js';
import { LogHistogram } from './log-histogram.js';
import { presentName, wireKeyOf } from '../dns/name.js';
import { anatomize } from './name-anatomy.js';
import { type SubdomainShape, subdomainShape } from './name-template.js';
import { PRIOR } from './prior-data.js';
import { QtypeModel } from './qtype-model.js';
import { SeenNames } from './seen-names.js';
import { repeatedShare, serviceParts } from './service-name.js';
import { type GuardAction, type Sensitivity, SENSITIVITY_SCALE, type StageReport, type Verdict } from './verdict.js';

export interface GuardQuery {
  /** Seconds since the epoch. */
  ts: number;
  client: string;
  /** Query name labels, raw bytes as latin1 chars, original case, leftmost first. */
  labels: string[];
  qtype: number;
  /** The lower-cased wire-format name, when the caller has it (the pipeline's cache key does). */
  wireKey?: string;
  /** false: skip the stage trace of plain allows (the live path never reads them). Default true. */
  explain?: boolean;
}

/** An operator's allow: a domain, a client range, or both, until a time. Allowed queries teach learning. */
export interface AllowOverride {
  domain?: string;
  /** A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or one address. */
  client?: string;
  until: number;
  by: string;
  at: number;
  /** The node that decided, when another node of a cluster did. */
  origin?: string;
}

/** An operator's quarantine of a client range: every query refused or sinkholed until a time. */
export interface Quarantine {
  client: string;
  until: number;
  by: string;
  at: number;
  incident: string;
  /** The node that decided, when another node of a cluster did. */
  origin?: string;
}

export interface GuardResponse extends GuardQuery {
  rcode: number;
  /** Size of the answer message in bytes. */
  answerSize?: number;
  /** Bytes of TXT/NULL/CNAME payload in the answer section, when the caller decoded them. */
  payloadBytes?: number;
}

/** What was learned of a network's normal, apart from per-key state: the prior's content. */
export interface Learning {
  counts: ArrayLike<number>;
  qtypes: Array<[number, number]>;
  nameBits: number[];
  pairDayInfo: number[];
}

export interface TunnelGuardOptions {
  sensitivity?: Sensitivity;
  /** Start from the shipped prior (default), or from nothing (training the prior, tests). */
  prior?: boolean;
  /** Learn every new name, whatever the verdict: only for training on traffic known to be benign. */
  learnAll?: boolean;
  maxDomains?: number;
  maxClients?: number;
  maxPairs?: number;
  /** Rebuilds the character model's costs elsewhere (a worker thread) instead of in line. */
  relearner?: { request(model: CharacterModel): void };
  /** Bits of the seen-name filters (2 × 2^bits / 8 bytes). */
  seenNameBits?: number;
  /**
   * Shared buffers (SeenNames.sharedBuffer) for the seen-name and seen-user filters, so that I/O
   * threads settle plain repeats themselves without handing them to the brain.
   */
  sharedSeen?: { names: SharedArrayBuffer; users: SharedArrayBuffer };
}

export interface GuardCounters {
  queries: number;
  newNames: number;
  queryBlocks: number;
  domainBlocks: number;
  blockedByDomain: number;
  monitored: number;
  learnedNames: number;
  /** Queries for names seen before, settled without touching per-key state. */
  repeats: number;
  quarantined: number;
  allowedByOperator: number;
  /** Blocks of one client on a domain many clients use (started / queries answered by one). */
  clientDomainBlocks: number;
  blockedByClientDomain: number;
}

export interface DomainBlock {
  /**
   * `domain`: the registered domain for every client. `client`: for `client` alone, because
   * many other clients use the domain normally (one client must not take it from them).
   */
  scope: 'domain' | 'client';
  until: number;
  offenses: number;
  incident: string;
  since: number;
  reasons: string[];
  stages: StageReport[];
  client: string;
  leaked: number;
  /** The node that decided, when another node of a cluster did. */
  origin?: string;
}

/** Query types tunnels favour for their payload room, with how much more their names weigh. */
const RARE_QTYPE_WEIGHT = new Map<number, number>([
  [10, 2], // NULL: iodine's favourite, no legitimate use on the Internet
  [25, 2], // KEY: dns2tcp
  [255, 1.5], // ANY
  [16, 1.5], // TXT: dnscat2, DNSExfiltrator, Cobalt Strike
  [5, 1.25], // CNAME
  [15, 1.1], // MX
]);

/** Query types whose answers can carry a tunnel's downstream data. */
const PAYLOAD_QTYPES = new Set([5, 10, 16, 25, 15]);

/** Whether answers to `qtype` can carry a tunnel's downstream (the only answers worth observing). */
export function carriesPayload(qtype: number): boolean {
  return PAYLOAD_QTYPES.has(qtype) || (qtype >= 65280 && qtype <= 65534);
}

function qtypeWeight(qtype: number): number {
  if (qtype >= 65280 && qtype <= 65534) return 2; // private use
  return RARE_QTYPE_WEIGHT.get(qtype) ?? 1;
}

/** Learned parameters are recomputed after this many new names, and at these points only (determinism). */
const REFRESH_EVERY = 4096;
/** Per refresh, old learning keeps this weight: half-life about 2.8M new names. */
const LEARNING_DECAY = 0.999;

const SECONDS_PER_HOUR = 3600;
const FIRST_BLOCK_SECONDS = SECONDS_PER_HOUR;
const MAX_BLOCK_SECONDS = 7 * 24 * SECONDS_PER_HOUR;
const MAX_BLOCKS = 100_000;
const MAX_UNBLOCKS = 10_000;
/**
 * A domain this many other clients have used is the network's, not a tunnel's: a client that
 * trips a budget on it loses the domain itself (a client-scoped block), the others keep it.
 */
const SHARED_DOMAIN_OTHER_CLIENTS = 5;
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
const MAX_SAMPLES = 5;
const PRIOR_WEIGHT_NAMES = 20_000;
const MAX_DOWNSTREAM_BYTES = 64;
/** The trace of a plain allow nobody asked to explain. */
const UNTRACED: StageReport[] = [];

/**
 * Bounds on what learning may set, so a noisy network cannot loosen detection past usefulness
 * and a quiet one cannot make it trigger-happy. Bytes of excess information.
 */
const BUDGET_FLOOR = 192;
const BUDGET_CEILING = 768;
const QUERY_BUDGET_FLOOR = 96;
const QUERY_BUDGET_CEILING = 256;
/** Caps of the legitimate-encoder multiplier per window: bulk bursts stay suspect even for encoders. */
const MULTIPLIER_CAP = [8, 32, 64] as const;
/**
 * A recognised encoder (many clients filling one template, or a documented service) has no
 * hour or day budget: one busy client's antivirus lookups add up to tens of KiB a day. Its minute
 * window keeps this multiplier, so a bulk burst through it is still cut.
 */
const RECOGNISED_MINUTE_MULTIPLIER = 16;
const RECOGNISED_MIN_CLIENTS = 5;
/**
 * A protocol record's name (service-name.ts) is set by the protocol (its underscored labels) and
 * by the domain that publishes the record (selector, owner), not by the client asking: every
 * label counts at this weight. Not zero, so payload dressed as a protocol record still fills the
 * client × domain budget, four times more slowly.
 */
const SERVICE_WEIGHT = 0.25;
/**
 * Encoded information in protocol records (DKIM tokens, tenant keys) each domain may add before
 * it counts toward its client's total across domains. A client checking the mail records of
 * thousands of domains a day (a mail gateway) spends a few of these bytes on each: its
 * cross-domain total is judged per domain it checks, not against one budget for all. A tunnel
 * spreading payload as selectors over its own domains gets only these bytes per domain.
 */
const SERVICE_FREE_BYTES_PER_DOMAIN = 24;
/**
 * A client's role (checksMail): a laptop asks protocol records of a few domains among thousands;
 * a mail gateway asks DKIM, DMARC and SPF of thousands of senders a day, and DNSBLs and URIBLs
 * with them. Past ROLE_FREE_DOMAINS such domains, each ROLE_DOMAINS_PER_STEP more raise its hour and day
 * budgets, and its total across domains, by one step, up to ROLE_CAP times, when the name judged
 * is itself a protocol record. The minute budget never grows: a bulk tunnel on a mail gateway is
 * cut as fast as anywhere, and its plain names meet plain budgets.
 */
const ROLE_MIN_DOMAINS = 16;
const ROLE_FREE_DOMAINS = 64;
const ROLE_DOMAINS_PER_STEP = 64;
const ROLE_CAP = 16;

export class TunnelGuard {
  readonly model = new CharacterModel();
  readonly qtypes = new QtypeModel();
  /** Bits of new names' subdomains, network-wide: the per-query allowance and the query budget. */
  readonly nameBits = new LogHistogram();
  /** Day-window excess information of client × domain pairs, sampled at their new names. */
  readonly pairDayInfo = new LogHistogram();
  readonly domains: TwoGenerationMap<string, DomainState>;
  readonly clients: TwoGenerationMap<string, ClientState>;
  readonly pairs: TwoGenerationMap<number, PairState>;
  readonly blocks = new TwoGenerationMap<string, DomainBlock>(MAX_BLOCKS);
  /** Client-scoped blocks, keyed `client domain` (see clientBlockKey). */
  readonly clientBlocks = new TwoGenerationMap<string, DomainBlock>(MAX_BLOCKS);
  readonly seen: SeenNames;
  /** Distinct client × domain pairs, so a domain's client count survives pair eviction. */
  readonly seenPairs: SeenNames;
  /** Client × name and client × domain pairs seen, repeats included: a domain's users (see DomainState.users). */
  readonly seenUsers: SeenNames;
  readonly counters: GuardCounters = { queries: 0, newNames: 0, queryBlocks: 0, domainBlocks: 0, blockedByDomain: 0, monitored: 0, learnedNames: 0, repeats: 0, quarantined: 0, allowedByOperator: 0, clientDomainBlocks: 0, blockedByClientDomain: 0 };
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
  private scale: number;
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
  readonly remoteInfo = new Map<string, { ts: number; info: [number, number, number] }>();
  /** Told when a client's windows across domains grew, with its ratio to that budget (a cluster shares them). */
  onClientInfo: ((client: string, state: ClientState, ratio: number) => void) | null = null;
  /** Other nodes' windows of a client across domains (client → windows at `ts`), added to this node's own. */
  readonly remoteClientInfo = new Map<string, { ts: number; info: [number, number, number] }>();
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
    this.importLearning({ counts, qtypes: PRIOR.qtypes, nameBits: PRIOR.nameBits, pairDayInfo: PRIOR.pairDayInfo }, Math.min(1, PRIOR_WEIGHT_NAMES / PRIOR.names));
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
    return { counts: this.model.counts.slice(), qtypes: [...this.qtypes.counts], nameBits: [...this.nameBits.bins], pairDayInfo: [...this.pairDayInfo.bins] };
  }

  /**
   * The live path's shortcut: true when a query for this wire name would be a plain repeat (seen
   * before, no block, no quarantine, and asked by this client before), counted as observe()
   * would count it. The caller then skips observe(): same decision, same state, without
   * building labels. A client's first ask of a name goes through observe(), which counts the
   * client among the domain's users.
   */
  isPlainRepeat(wireKey: string, client?: string): boolean {
    if (this.blocks.size > 0 || this.clientBlocks.size > 0 || this.quarantines.length > 0 || !this.seen.has(wireKey)) return false;
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
        return operatorVerdict('block', 'client', anatomize(q.labels.map(lowerAscii)).registeredDomain, [`client ${q.client} quarantined by ${quarantine.by} until ${isoTime(quarantine.until)}`], quarantine.incident);
      }
    }
    const lower = q.labels.map(lowerAscii);
    const seenKey = q.wireKey ?? wireKeyOf(lower);
    // A name seen before carries no new information: unless its domain is blocked, nothing to weigh.
    if (this.seen.has(seenKey) && !this.isBlockedName(lower, ts, q.client)) {
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
    // Stage 0: anatomy.
    const anatomy = anatomize(lower);
    const domainName = anatomy.registeredDomain;
    const subLabels = q.labels.slice(0, anatomy.subdomainLabels.length);
    const override = this.overrides.length > 0 ? this.overrideFor(domainName, q.client, ts) : undefined;
    // The trace is built only when someone will read it (analyze, or any verdict but a plain allow).
    const anatomyStage = (): StageReport => {
      const evidence: StageReport['evidence'] = { domain: domainName, subdomainBytes: anatomy.subdomainBytes };
      if (anatomy.privateSuffix) evidence.privateSuffix = anatomy.publicSuffix;
      if (anatomy.binaryLabels > 0) evidence.binaryLabels = anatomy.binaryLabels;
      return { name: 'anatomy', score: anatomy.binaryLabels > 0 ? 1 : 0, evidence };
    };

    let domain = this.domains.get(domainName);
    if (domain === undefined) {
      domain = newDomain(ts, this.nextDomainId);
      this.nextDomainId = (this.nextDomainId + 1) % ID_SPACE;
      this.domains.set(domainName, domain);
    }
    domain.queries++;
    domain.lastSeen = ts;
    markActive(domain, ts);
    if (this.seenUsers.addPairIfNew(q.client, domainName)) domain.users++;

    const block = this.blocks.peek(domainName);
    if (block !== undefined && block.until > ts && override === undefined) {
      this.counters.blockedByDomain++;
      return {
        action: 'block',
        scope: 'domain',
        domain: domainName,
        score: 1,
        reasons: block.reasons,
        stages: [anatomyStage(), ...block.stages.slice(1)],
        incident: block.incident,
        leakedBytes: block.leaked,
        firstSeen: domain.firstSeen,
      };
    }
    // This client alone lost this domain (one the network shares): the others go on below.
    const clientBlock = this.clientBlocks.size > 0 && override === undefined ? this.clientBlocks.peek(clientBlockKey(q.client, domainName)) : undefined;
    if (clientBlock !== undefined && clientBlock.until > ts) {
      this.counters.blockedByClientDomain++;
      return {
        action: 'block',
        scope: 'client-domain',
        domain: domainName,
        score: 1,
        reasons: clientBlock.reasons,
        stages: [anatomyStage(), ...clientBlock.stages.slice(1)],
        incident: clientBlock.incident,
        leakedBytes: clientBlock.leaked,
        firstSeen: domain.firstSeen,
      };
    }

    // Stage 1: per-query evidence. A name seen before adds no information; only new ones are weighed.
    const fresh = this.seen.addIfNew(seenKey);
    // This client asked this name: its next ask is a plain repeat.
    this.seenUsers.addPairWithLastIfNew(q.client, this.seen);
    const isNew = anatomy.subdomainBytes > 0 && fresh;
    const weight = qtypeWeight(q.qtype);
    if (weight > 1) domain.rareQtypes++;
    const qtypeBits = this.qtypes.bits(q.qtype);
    this.qtypes.learn(q.qtype);
    let bits = 0;
    /** The subdomain's bits with every label at full weight: what the network's name-size distribution learns. */
    let rawBits = 0;
    let excessBytes = 0;
    let shape: SubdomainShape | undefined;
    let service = isNew ? serviceParts(anatomy.subdomainLabels) : undefined;
    // A DNS-list-shaped name is read as one only from a client whose role is checking mail.
    if (service?.listed === true && !checksMail(this.clients.peek(q.client))) service = undefined;
    if (isNew) {
      if (service === undefined) for (const label of anatomy.subdomainLabels) bits += this.model.bits(label);
      else bits = this.serviceBits(anatomy.subdomainLabels, service.first, service.ownerStart);
      rawBits = service === undefined ? bits : anatomy.subdomainLabels.reduce((sum, label) => sum + this.model.bits(label), 0);
      shape = subdomainShape(subLabels);
      excessBytes = Math.max(0, (bits + qtypeBits) * weight - this.allowanceBits) / 8;
    }
    const queryStage = (): StageReport => {
      const evidence: StageReport['evidence'] = { newName: isNew, qtypeBits: round(qtypeBits) };
      if (isNew && shape !== undefined) {
        evidence.bits = round(bits);
        if (service !== undefined) evidence.serviceNameBits = round(rawBits);
        evidence.excessBytes = round(excessBytes);
        if (weight > 1) evidence.qtypeWeight = weight;
        evidence.kinds = shape.kinds;
        evidence.longestLabel = shape.longestLabel;
      }
      return { name: 'query', score: isNew ? round(this.nameBits.cdf(bits)) : 0, evidence };
    };

    // Stage 2: state per client × domain, per domain and per client.
    let client = this.clients.get(q.client);
    if (client === undefined) {
      client = newClient(ts, this.nextClientId);
      this.nextClientId = (this.nextClientId + 1) % ID_SPACE;
      this.clients.set(q.client, client);
    }
    const key = pairKey(client, domain);
    let pair = this.pairs.get(key);
    if (pair === undefined) {
      pair = newPair(ts);
      this.pairs.set(key, pair);
      // The filter remembers pairs the capped map has since evicted, so clients are not recounted.
      if (this.seenPairs.addIfNew(`${q.client} ${domainName}`)) {
        domain.clients++;
        client.domains++;
      }
    }
    // The filter remembers service pairs too (a key no client × domain key can equal).
    if (service !== undefined && !service.listed && this.seenPairs.addIfNew(`${q.client} _ ${domainName}`)) client.serviceDomains++;
    // The role weighs only names that vary by what the mail brings: a tenant's owner labels, a
    // listed address or domain. A plain tunnel on a mail gateway meets plain budgets, and so does
    // one dressing payload as selectors of its own domain (a sender has a few selectors, not hundreds).
    const role = service === undefined || (!service.listed && service.ownerStart >= anatomy.subdomainLabels.length) ? 1 : roleFactor(client);
    // The total across domains is the role's own measure: any protocol record is judged by it.
    const totalRole = service === undefined ? 1 : roleFactor(client);
    pair.queries++;
    const encoded = shape !== undefined && shape.encodedLabels > 0;
    if (isNew) {
      this.counters.newNames++;
      domain.uniqueNames++;
      pair.uniqueNames++;
      if (encoded) pair.encodedNames++;
      if (pair.lastNewTs > 0) {
        const interval = ts - pair.lastNewTs;
        const alpha = pair.intervals < 8 ? 1 / (pair.intervals + 1) : 0.125;
        pair.intervalMean += alpha * (interval - pair.intervalMean);
        pair.intervalSquare += alpha * (interval * interval - pair.intervalSquare);
        pair.intervals++;
      }
      pair.lastNewTs = ts;
      updateTemplate(domain, shape!.template);
    }
    if (isNew && service === undefined && domain.users <= 1 && pair.uniqueNames > STREAM_FREE_NAMES && pair.uniqueNames >= STREAM_NEW_SHARE * pair.queries) {
      excessBytes = Math.max(excessBytes, (bits * weight) / 8);
    }
    let clientBytes = 0;
    if (excessBytes > 0) {
      addInfo(pair, ts, excessBytes);
      pair.leaked += excessBytes;
      domain.leaked += excessBytes;
      if (encoded) {
        clientBytes = excessBytes;
        if (service !== undefined) {
          // A protocol record's first bytes per domain are the client's role, not its total.
          const before = pair.serviceInfo;
          pair.serviceInfo += excessBytes;
          clientBytes = Math.max(0, pair.serviceInfo - SERVICE_FREE_BYTES_PER_DOMAIN) - Math.max(0, before - SERVICE_FREE_BYTES_PER_DOMAIN);
        }
        if (clientBytes > 0) {
          addInfo(client, ts, clientBytes);
          client.leaked += clientBytes;
        }
      }
    }

    // Stage 3: the learned normal, and what this domain's use says about it.
    const { known, hours, established, stableTemplate, multiplier, recognised } = this.normalOf(domainName, domain, ts);
    const domainClients = domain.clients;
    const age = ts - domain.firstSeen;
    const normalStage = (): StageReport => {
      const evidence: StageReport['evidence'] = { encoderMultiplier: round(multiplier), clients: domainClients, ageSeconds: round(age), activeHours: hours };
      if (stableTemplate) evidence.stableTemplate = true;
      if (known !== undefined) evidence.knownEncoder = known;
      if (recognised) evidence.recognisedEncoder = true;
      // How far this domain is from what the network treats as a recognised heavy encoder.
      return { name: 'normal', score: recognised ? 0 : round(1 - Math.min(1, Math.log2(multiplier) / 6)), evidence };
    };

    // Only a query that adds information can push a client × domain over its budget.
    let ratio = 0;
    const reasons: string[] = [];
    const pairQueries = pair.queries;
    const pairNewNames = pair.uniqueNames;
    // Other nodes' bytes for this pair count as this node's (a cluster's shared learning).
    const remote = this.remoteInfo.size > 0 && excessBytes > 0 ? this.remoteInfo.get(`${q.client} ${domainName}`) : undefined;
    const pairInfo: [number, number, number] = remote === undefined ? [pair.info[0], pair.info[1], pair.info[2]] : [0, 1, 2].map((w) => pair.info[w] + remote.info[w] * Math.exp(-Math.max(0, ts - remote.ts) / WINDOW_SECONDS[w])) as [number, number, number];
    let beaconCv = -1;
    let clientDayBytes = -1;
    if (excessBytes > 0) {
      let window = 0;
      for (let w = 0; w < 3; w++) {
        const r = pairInfo[w] / (this.windowBudget(w, multiplier, recognised) * (w > 0 ? role : 1));
        if (r > ratio) {
          ratio = r;
          window = w;
        }
      }
      if (ratio >= 0.5) reasons.push(`${round(pairInfo[window])} B of encoded information from ${q.client} to ${domainName} in the last ${WINDOW_NAMES[window]}${remote === undefined ? '' : ' (on every node)'} (budget ${round(this.windowBudget(window, multiplier, recognised) * (window > 0 ? role : 1))} B)`);
    }
    // Beacons: new names at machine-regular intervals to a domain nobody else uses.
    if (isNew && pair.intervals >= 6 && multiplier < 4 && pair.intervalMean >= 0.05) {
      const variance = Math.max(0, pair.intervalSquare - pair.intervalMean * pair.intervalMean);
      const cv = Math.sqrt(variance) / pair.intervalMean;
      if (cv < 0.25 && pair.uniqueNames / pair.queries > 0.8) {
        // Encoded names or a tunnel's query type make a regular stream a tunnel's polls, not an app's.
        const beacon = pair.encodedNames * 2 >= pair.uniqueNames || weight >= 1.5 ? 1.2 : 0.6;
        if (beacon > ratio) ratio = beacon;
        beaconCv = cv;
        reasons.push(`new names every ${round(pair.intervalMean)} s with ${round(cv * 100)}% variation: a beacon`);
      }
    }
    // Exfiltration spread over many domains: the client's encoded information across all of them.
    if (encoded && clientBytes > 0 && multiplier < 4 && pair.info[2] >= 16) {
      // Other nodes' bytes from this client count as this node's (a cluster's shared learning).
      const remoteClient = this.remoteClientInfo.size > 0 ? this.remoteClientInfo.get(q.client) : undefined;
      const clientDay = client.info[2] + (remoteClient === undefined ? 0 : remoteClient.info[2] * Math.exp(-Math.max(0, ts - remoteClient.ts) / WINDOW_SECONDS[2]));
      const clientRatio = clientDay / (this.budget * this.scale * 2 * totalRole);
      clientDayBytes = clientDay;
      if (clientRatio >= 0.5) reasons.push(`${round(clientDay)} B of encoded information from ${q.client} across ${client.domains} domains in the last day${remoteClient === undefined ? '' : ' (on every node)'}`);
      if (clientRatio > ratio) ratio = clientRatio;
      this.onClientInfo?.(q.client, client, clientRatio);
    }
    const stateScore = ratio / (1 + ratio);
    if (this.onInfo !== null && excessBytes > 0) this.onInfo(`${q.client} ${domainName}`, pair, ratio);
    const beaconSeconds = pair.intervalMean;
    const stateStage = (): StageReport => {
      const evidence: StageReport['evidence'] = { pairQueries, pairNewNames };
      if (excessBytes > 0) {
        evidence.pairBytes = pairInfo.map(round).join('/');
        evidence.budgetBytes = [0, 1, 2].map((w) => round(this.windowBudget(w, multiplier, recognised) * (w > 0 ? role : 1))).join('/');
      }
      if (role > 1) evidence.roleFactor = round(role);
      if (beaconCv >= 0) {
        evidence.beaconSeconds = round(beaconSeconds);
        evidence.beaconVariation = round(beaconCv);
      }
      if (clientDayBytes >= 0) evidence.clientEncodedDayBytes = round(clientDayBytes);
      return { name: 'state', score: round(stateScore), evidence };
    };

    // Stage 4: the decision.
    let action: GuardAction = 'allow';
    let scope: Verdict['scope'] = 'none';
    let incident: string | undefined;
    const queryTooBig = excessBytes >= this.queryBudget * this.scale && multiplier < 4 && !established;
    if (queryTooBig) reasons.push(`one query carries ${round(excessBytes)} B of encoded information (query budget ${round(this.queryBudget * this.scale)} B)`);
    if (override !== undefined) {
      this.counters.allowedByOperator++;
      reasons.unshift(`allowed by ${override.by} until ${isoTime(override.until)}${override.domain ? ` for ${override.domain}` : ''}${override.client ? ` from ${override.client}` : ''}`);
    } else if (ratio >= 1 && (domain.users - 1 >= SHARED_DOMAIN_OTHER_CLIENTS || this.isFlooded?.(domainName) === true)) {
      // Many other clients use this domain normally (or it is the victim of a random-subdomain
      // flood): one client's misuse costs it the domain, not them.
      if (domain.users - 1 < SHARED_DOMAIN_OTHER_CLIENTS) reasons.push(`${domainName} is under a random-subdomain flood: blocked for this client only, never for everyone`);
      action = 'block';
      scope = 'client-domain';
      incident = this.startBlock('client', domainName, ts, q.client, pair.leaked, reasons, [anatomyStage(), queryStage(), stateStage(), normalStage()], domain.users - 1);
      this.counters.clientDomainBlocks++;
    } else if (ratio >= 1) {
      action = 'block';
      scope = 'domain';
      incident = this.startBlock('domain', domainName, ts, q.client, pair.leaked, reasons, [anatomyStage(), queryStage(), stateStage(), normalStage()], domain.users - 1);
      this.counters.domainBlocks++;
    } else if (queryTooBig) {
      action = 'block';
      scope = 'query';
      incident = incidentId(domainName, ts, 0);
      this.counters.queryBlocks++;
    } else if (ratio >= 0.5) {
      action = 'monitor';
      this.counters.monitored++;
    }
    const score = Math.max(stateScore, queryTooBig ? 0.5 : 0);
    if (action !== 'allow' && isNew && domain.samples.length < MAX_SAMPLES) domain.samples.push(presentName(q.labels));
    const leaked = pair.leaked;
    const samples = action === 'allow' ? undefined : domain.samples.slice();
    const decisionStage = (): StageReport => {
      const evidence: StageReport['evidence'] = { action, scope, leakedBytes: round(leaked) };
      if (samples !== undefined) evidence.samples = samples;
      if (incident !== undefined) evidence.incident = incident;
      return { name: 'decision', score: round(score), evidence };
    };
    const trace = q.explain !== false || action !== 'allow' || reasons.length > 0;
    const stages = trace ? [anatomyStage(), queryStage(), stateStage(), normalStage(), decisionStage()] : UNTRACED;

    // Learning: only from what looks normal, so a tunnel never teaches that it is normal.
    // What an operator allowed is known-good, whatever it looks like. Pairs judged by a role
    // (protocol records, a mail gateway's DNS lists) do not teach the budget every client meets.
    if (isNew && (this.options.learnAll === true || override !== undefined || (ratio < 0.3 && !queryTooBig))) this.learnName(anatomy.subdomainLabels, rawBits, multiplier < 4 && service === undefined && !checksMail(client) ? pair.info[2] : -1);

    return {
      action,
      scope,
      domain: domainName,
      score: round(score),
      reasons,
      stages,
      incident,
      leakedBytes: round(leaked),
      firstSeen: domain.firstSeen,
    };
  }

  /**
   * Bits of a protocol record's name, at SERVICE_WEIGHT; owner text the selector already spelled
   * (a tenant's label in its selector) is not counted again.
   */
  private serviceBits(labels: readonly string[], first: number, ownerStart: number): number {
    let selector = '';
    for (let i = 0; i < first; i++) selector += labels[i];
    let bits = 0;
    for (let i = 0; i < labels.length; i++) {
      const b = this.model.bits(labels[i]);
      bits += i >= ownerStart ? b * (1 - repeatedShare(labels[i], selector)) : b;
    }
    return bits * SERVICE_WEIGHT;
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
    if (pair !== undefined && pair.uniqueNames >= 2 && pair.leaked > 0) addInfo(pair, r.ts, Math.min(payload / 4, MAX_DOWNSTREAM_BYTES));
  }

  /** Whether the name's registered domain (or any suffix of it) is under a block now, for everyone or for this client. */
  private isBlockedName(lower: string[], ts: number, client: string): boolean {
    if (this.blocks.size === 0 && this.clientBlocks.size === 0) return false;
    for (let i = 0; i < lower.length; i++) {
      const suffix = lower.slice(i).join('.');
      const block = this.blocks.peek(suffix);
      if (block !== undefined && block.until > ts) return true;
      if (this.clientBlocks.size === 0) continue;
      const own = this.clientBlocks.peek(clientBlockKey(client, suffix));
      if (own !== undefined && own.until > ts) return true;
    }
    return false;
  }

  private overrideFor(domain: string, client: string, ts: number): AllowOverride | undefined {
    return this.overrides.find((o) => o.until > ts && (o.domain === undefined || o.domain === domain) && (o.match === undefined || cidrContains(o.match, client)));
  }

  private quarantineOf(client: string, ts: number): Quarantine | undefined {
    return this.quarantines.find((qr) => qr.until > ts && cidrContains(qr.match, client));
  }

  /** Adds an operator's allow; a domain allow also lifts its block. Throws on a bad CIDR. */
  allow(o: AllowOverride): void {
    const match = o.client === undefined ? undefined : cidrList(o.client);
    this.overrides = this.overrides.filter((x) => !(x.domain === o.domain && x.client === o.client));
    this.overrides.push({ ...o, match });
    if (o.domain !== undefined && o.client === undefined) for (const { key, block } of this.blocksOn(o.domain)) this.blockMap(block).delete(key);
  }

  /** Removes allows for exactly this domain and client range; returns how many. */
  disallow(domain: string | undefined, client: string | undefined): number {
    const before = this.overrides.length;
    this.overrides = this.overrides.filter((x) => !(x.domain === domain && x.client === client));
    return before - this.overrides.length;
  }

  quarantine(q: Omit<Quarantine, 'incident'>): Quarantine {
    const incident = incidentId(`client:${q.client}`, q.at, 0);
    const entry = { ...q, incident };
    this.quarantines = this.quarantines.filter((x) => x.client !== q.client);
    this.quarantines.push({ ...entry, match: cidrList(q.client) });
    return entry;
  }

  release(client: string): boolean {
    const before = this.quarantines.length;
    this.quarantines = this.quarantines.filter((x) => x.client !== client);
    return before !== this.quarantines.length;
  }

  /** Drops expired allows and quarantines (the caller's clock). */
  expire(now: number): void {
    this.overrides = this.overrides.filter((o) => o.until > now);
    this.quarantines = this.quarantines.filter((qr) => qr.until > now);
  }

  /** What the learned normal says about a domain: legitimate-encoder evidence and its multiplier. */
  private normalOf(domainName: string, domain: DomainState, ts: number) {
    const known = knownEncoder(domainName);
    const hours = activeHourCount(domain);
    const established = ts - domain.firstSeen >= 86400 && hours >= 6;
    const spread = domain.clients >= 3 ? Math.min(8, 1.5 * Math.sqrt(domain.clients)) : 1;
    const stableTemplate = domain.uniqueNames >= 12 && domain.templateStability >= 0.85;
    let multiplier = spread * (stableTemplate ? 4 : 1) * (established ? 2 : 1) * (known !== undefined ? 8 : 1);
    if (multiplier > 64) multiplier = 64;
    const recognised = known !== undefined || (domain.clients >= RECOGNISED_MIN_CLIENTS && stableTemplate);
    return { known, hours, established, stableTemplate, multiplier, recognised };
  }

  /**
   * What Tunnel Guard knows and thinks normal about a registered domain (for the console and
   * operators); undefined when it has not seen the domain. Reads state only.
   */
  describeDomain(domainName: string, now: number) {
    const domain = this.domains.peek(domainName);
    if (domain === undefined) return undefined;
    const n = this.normalOf(domainName, domain, now);
    const block = this.blocks.peek(domainName);
    return {
      domain: domainName,
      firstSeen: domain.firstSeen,
      lastSeen: domain.lastSeen,
      queries: domain.queries,
      uniqueNames: domain.uniqueNames,
      clients: domain.clients,
      users: domain.users,
      rareQtypes: domain.rareQtypes,
      nxdomainRatio: domain.responses > 0 ? round(domain.nxdomain / domain.responses) : 0,
      downstreamBytes: round(domain.downstream),
      templateStability: round(domain.templateStability),
      activeHours: n.hours,
      leakedBytes: round(domain.leaked),
      samples: domain.samples.slice(),
      knownEncoder: n.known ?? null,
      recognisedEncoder: n.recognised,
      established: n.established,
      stableTemplate: n.stableTemplate,
      encoderMultiplier: round(n.multiplier),
      /** Bytes of encoded information one client may send per minute / hour / day before a block. */
      budgetBytes: [0, 1, 2].map((w) => {
        const b = this.windowBudget(w, n.multiplier, n.recognised);
        return Number.isFinite(b) ? round(b) : null;
      }),
      block: block !== undefined && block.until > now ? { incident: block.incident, since: block.since, until: block.until, offenses: block.offenses } : null,
    };
  }

  /** Registered domains whose name contains `text`, busiest first (bounded scan). */
  searchDomains(text: string, limit: number, now: number) {
    const needle = text.toLowerCase();
    const found: Array<{ domain: string; queries: number; clients: number; lastSeen: number; leakedBytes: number; blocked: boolean }> = [];
    const listed = new Set<string>();
    let scanned = 0;
    for (const [name, d] of this.domains.entries()) {
      if (++scanned > 200_000) break;
      if ((needle !== '' && !name.includes(needle)) || listed.has(name)) continue;
      listed.add(name);
      const block = this.blocks.peek(name);
      found.push({ domain: name, queries: d.queries, clients: d.clients, lastSeen: d.lastSeen, leakedBytes: round(d.leaked), blocked: block !== undefined && block.until > now });
    }
    return found.sort((a, b) => b.queries - a.queries).slice(0, limit);
  }

  /** A client's state: when first seen, how many domains, encoded bytes in the windows, quarantine. */
  describeClient(client: string, now: number) {
    const c = this.clients.peek(client);
    const quarantine = this.quarantines.find((q) => q.client === client && q.until > now);
    if (c === undefined && quarantine === undefined) return undefined;
    return {
      client,
      firstSeen: c?.firstSeen ?? null,
      domains: c?.domains ?? 0,
      leakedBytes: round(c?.leaked ?? 0),
      encodedBytes: c ? { minute: round(c.info[0]), hour: round(c.info[1]), day: round(c.info[2]) } : null,
      quarantine: quarantine ? { until: quarantine.until, by: quarantine.by, incident: quarantine.incident } : null,
    };
  }

  /** Legitimate heavy encoders the network has shown (many clients, one stable template) or the documented list holds. */
  recognisedEncoders(now: number, limit = 100) {
    const out: Array<{ domain: string; clients: number; uniqueNames: number; known: string | null; multiplier: number }> = [];
    for (const [name, d] of this.domains.entries()) {
      const n = this.normalOf(name, d, now);
      if (!n.recognised) continue;
      out.push({ domain: name, clients: d.clients, uniqueNames: d.uniqueNames, known: n.known ?? null, multiplier: round(n.multiplier) });
      if (out.length >= limit) break;
    }
    return out;
  }

  private windowBudget(window: number, multiplier: number, recognised: boolean): number {
    if (recognised) return window === 0 ? this.budget * this.scale * RECOGNISED_MINUTE_MULTIPLIER : Infinity;
    return this.budget * this.scale * Math.min(multiplier, MULTIPLIER_CAP[window]);
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

  /** The domain's block for everyone and its client-scoped blocks, with their keys (a bounded scan). */
  blocksOn(domain: string): Array<{ key: string; block: DomainBlock }> {
    const out: Array<{ key: string; block: DomainBlock }> = [];
    const block = this.blocks.peek(domain);
    if (block !== undefined) out.push({ key: domain, block });
    if (this.clientBlocks.size > 0) for (const [key, b] of this.clientBlocks.entries()) if (clientBlockDomain(key) === domain) out.push({ key, block: b });
    return out;
  }

  /** Puts back blocks taken by blocksOn() and lifted (an operator change that could not be saved). */
  restoreBlocks(blocks: Array<{ key: string; block: DomainBlock }>): void {
    for (const { key, block } of blocks) this.blockMap(block).set(key, block);
  }

  /** The map a block lives in, by its scope (blocks from before scopes existed are domain blocks). */
  blockMap(block: Pick<DomainBlock, 'scope'>): TwoGenerationMap<string, DomainBlock> {
    return block.scope === 'client' ? this.clientBlocks : this.blocks;
  }

  /** Remembers an operator's unblock while the block it lifted could still be in force (bounded). */
  noteUnblock(key: string, incident: string, at: number): void {
    this.unblocked.delete(key);
    this.unblocked.set(key, { incident, at });
    for (const [k, u] of this.unblocked) {
      if (this.unblocked.size <= MAX_UNBLOCKS && u.at > at - MAX_BLOCK_SECONDS) break;
      this.unblocked.delete(k);
    }
  }

  /** Blocks in force, for everyone and client-scoped. */
  activeBlocks(now: number): Array<{ domain: string } & DomainBlock> {
    const out: Array<{ domain: string } & DomainBlock> = [];
    for (const [domain, block] of this.blocks.entries()) if (block.until > now) out.push({ domain, ...block, scope: 'domain' });
    for (const [key, block] of this.clientBlocks.entries()) if (block.until > now) out.push({ domain: clientBlockDomain(key), ...block });
    return out;
  }

  private startBlock(scope: DomainBlock['scope'], domain: string, ts: number, client: string, leaked: number, reasons: string[], stages: StageReport[], otherClients: number): string {
    const key = scope === 'client' ? clientBlockKey(client, domain) : domain;
    const map = this.blockMap({ scope });
    const previous = map.peek(key);
    const offenses = (previous?.offenses ?? 0) + 1;
    const seconds = Math.min(MAX_BLOCK_SECONDS, FIRST_BLOCK_SECONDS * 4 ** (offenses - 1));
    const incident = incidentId(key, ts, offenses);
    const until = ts + seconds;
    const headline = scope === 'client'
      ? `${domain} blocked for ${client} only until ${isoTime(until)} (incident ${incident}, offence ${offenses}): ${otherClients} other clients use it normally and keep it`
      : `domain blocked until ${isoTime(until)} (incident ${incident}, offence ${offenses})`;
    const block: DomainBlock = { scope, until, offenses, incident, since: ts, reasons: [headline, ...reasons], stages, client, leaked: round(leaked) };
    map.set(key, block);
    this.onBlock?.(domain, block);
    return incident;
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
    if (this.options.relearner !== undefined && this.counters.learnedNames > 0) this.options.relearner.request(this.model);
    else this.model.refresh();
    this.allowanceBits = clamp(this.nameBits.quantile(0.5, 24), 16, 48);
    this.queryBudget = clamp(((this.nameBits.quantile(0.9999, 1600) - this.allowanceBits) / 8) * 1.5, QUERY_BUDGET_FLOOR, QUERY_BUDGET_CEILING);
    this.budget = clamp(2 * this.pairDayInfo.quantile(0.999, BUDGET_FLOOR), BUDGET_FLOOR, BUDGET_CEILING);
  }
}

/**
 * Whether a client's role is checking mail: it asked protocol records (DKIM, DMARC, SPF, …) of
 * at least ROLE_MIN_DOMAINS registered domains, and of at least half the domains it asks at all
 * (a laptop asks a few `_dmarc` or SRV names among thousands of web domains).
 */
function checksMail(client: ClientState | undefined): boolean {
  return client !== undefined && client.serviceDomains >= ROLE_MIN_DOMAINS && client.serviceDomains * 2 >= client.domains;
}

/** How far a client's role (protocol records of many domains) raises its hour and day budgets. */
function roleFactor(client: ClientState): number {
  if (!checksMail(client) || client.serviceDomains <= ROLE_FREE_DOMAINS) return 1;
  return Math.min(ROLE_CAP, 1 + (client.serviceDomains - ROLE_FREE_DOMAINS) / ROLE_DOMAINS_PER_STEP);
}

function updateTemplate(domain: DomainState, template: number): void {
  if (domain.template === template) domain.templateStability += 0.1 * (1 - domain.templateStability);
  else {
    domain.templateStability *= 0.9;
    if (domain.templateStability < 0.3) domain.template = template;
  }
}

/** The key of a client-scoped block: an address has no space, so the first space splits it. */
export function clientBlockKey(client: string, domain: string): string {
  return `${client} ${domain}`;
}

/** The domain of a client-scoped block's key. */
function clientBlockDomain(key: string): string {
  return key.slice(key.indexOf(' ') + 1);
}

function lowerAscii(label: string): string {
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return asciiLower(label);
  }
  return label;
}

/** Lower-cases A–Z only: String#toLowerCase would also fold latin1 bytes of binary labels. */
function asciiLower(label: string): string {
  let out = '';
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c | 0x20) : label[i];
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function incidentId(subject: string, ts: number, n: number): string {
  return `TG-${(murmur3(`${subject}:${ts}:${n}`, 0x1dc) >>> 0).toString(16).padStart(8, '0')}`;
}

/** A CIDR or a single address; throws a plain message on anything else. */
export function cidrList(text: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

function operatorVerdict(action: GuardAction, scope: Verdict['scope'], domain: string, reasons: string[], incident?: string): Verdict {
  const stages: StageReport[] = [
    { name: 'anatomy', score: 0, evidence: { domain } },
    { name: 'query', score: 0, evidence: {} },
    { name: 'state', score: 0, evidence: {} },
    { name: 'normal', score: 0, evidence: {} },
    { name: 'decision', score: action === 'block' ? 1 : 0, evidence: { action, scope, operator: true } },
  ];
  return { action, scope, domain, score: action === 'block' ? 1 : 0, reasons, stages, incident, leakedBytes: 0, firstSeen: 0 };
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
  constructor(private readonly lower: string[]) {}

  get domain(): string {
    return anatomize(this.lower).registeredDomain;
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
