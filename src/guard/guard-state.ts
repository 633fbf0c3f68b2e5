/**
 * The state Tunnel Guard keeps per registered domain, per client × domain and per client
 * (stage 2). Plain objects of numbers, one per key, in capped LRU maps: their sizes bound the
 * memory (see README.md for the measured bytes per entry).
 *
 * Information is kept in three exponentially decaying windows, minute, hour and day (time
 * constants 60 s, 3,600 s, 86,400 s): a window's value approximates the bytes of information
 * sent in the last window, and is updated lazily when the key is next seen.
 */
export const WINDOW_SECONDS = [60, 3600, 86400] as const;
export const WINDOW_NAMES = ['minute', 'hour', 'day'] as const;

export interface InfoWindows {
  /** Decayed information in bytes, per window. */
  info: [number, number, number];
  infoTs: number;
}

export interface DomainState {
  /** Numeric identity for pair keys (see pairKey). */
  id: number;
  firstSeen: number;
  lastSeen: number;
  queries: number;
  uniqueNames: number;
  /** Distinct clients (counted when a client × domain pair is first made). */
  clients: number;
  /**
   * Distinct clients that used the domain at all, names others asked first included (`clients`
   * counts only those that asked a new name): how widely the network uses it.
   */
  users: number;
  /** Long labels clients asked first under the domain, and of those, ones another client asked before (shared-labels.ts). */
  longLabels: number;
  sharedLabels: number;
  rareQtypes: number;
  responses: number;
  nxdomain: number;
  /** Information carried back in TXT/NULL/CNAME answers, bytes. */
  downstream: number;
  /** The dominant subdomain template and how steadily new names fill it (EWMA 0..1). */
  template: number;
  templateStability: number;
  /** Bit i set: the domain was queried i hours before `hourMark` (32 hours). */
  activeHours: number;
  hourMark: number;
  /** Estimated payload bytes sent through the domain by all clients. */
  leaked: number;
  samples: string[];
}

export interface PairState extends InfoWindows {
  firstSeen: number;
  queries: number;
  uniqueNames: number;
  leaked: number;
  encodedNames: number;
  /** Encoded information in protocol-record names (service-name.ts) this pair sent, bytes, not decayed. */
  serviceInfo: number;
  lastNewTs: number;
  /** EWMA of the interval between new names and of its square: beacon regularity. */
  intervalMean: number;
  intervalSquare: number;
  intervals: number;
}

export interface ClientState extends InfoWindows {
  id: number;
  firstSeen: number;
  /** Registered domains this client queried (counted when its pair is made). */
  domains: number;
  /** Registered domains this client asked protocol records of (service-name.ts): its role, e.g. a mail gateway. */
  serviceDomains: number;
  /**
   * `domains` decaying with a time constant of RECENT_DOMAINS_SECONDS, as of `recentDomainsTs`:
   * how broadly the client asks lately, so a role read from breadth fades when the breadth does.
   */
  recentDomains: number;
  recentDomainsTs: number;
  leaked: number;
}

/** A week: a resolver keeps its role through a quiet weekend; a desktop never accumulates one. */
export const RECENT_DOMAINS_SECONDS = 7 * 86400;

/** Counts one more registered domain for the client, decaying the recent count to `ts`. */
export function countDomain(c: ClientState, ts: number): void {
  c.domains++;
  c.recentDomains = recentDomains(c, ts) + 1;
  c.recentDomainsTs = ts;
}

/** The client's recent registered domains, decayed to `ts`. */
export function recentDomains(c: ClientState, ts: number): number {
  const dt = ts - c.recentDomainsTs;
  return dt > 0 ? c.recentDomains * Math.exp(-dt / RECENT_DOMAINS_SECONDS) : c.recentDomains;
}

/** Decays the windows to `ts`, then adds `bytes`. */
export function addInfo(w: InfoWindows, ts: number, bytes: number): void {
  const dt = ts - w.infoTs;
  if (dt > 0) {
    w.info[0] *= Math.exp(-dt / WINDOW_SECONDS[0]);
    w.info[1] *= Math.exp(-dt / WINDOW_SECONDS[1]);
    w.info[2] *= Math.exp(-dt / WINDOW_SECONDS[2]);
    w.infoTs = ts;
  }
  w.info[0] += bytes;
  w.info[1] += bytes;
  w.info[2] += bytes;
}

export function newDomain(ts: number, id = 0): DomainState {
  return new DomainRecord(ts, id);
}

export function newPair(ts: number): PairState {
  return new PairRecord(ts);
}

export function newClient(ts: number, id = 0): ClientState {
  return new ClientRecord(ts, id);
}

/** Ids wrap at 2^26, so a client × domain key (client id × 2^26 + domain id) stays an exact double. */
export const ID_SPACE = 2 ** 26;

/**
 * A number, not a concatenated string: hashing a fresh string per query cost more than the rest
 * of stage 2. An id is reused only after 2^26 newer records, long after a pair keyed by the old
 * one has left the capped pair map.
 */
export function pairKey(client: ClientState, domain: DomainState): number {
  return client.id * ID_SPACE + domain.id;
}

/** Classes rather than spread literals: one hidden class each, so field reads stay monomorphic. */
class DomainRecord implements DomainState {
  firstSeen: number;
  lastSeen: number;
  queries = 0;
  uniqueNames = 0;
  clients = 0;
  users = 0;
  longLabels = 0;
  sharedLabels = 0;
  rareQtypes = 0;
  responses = 0;
  nxdomain = 0;
  downstream = 0;
  template = 0;
  templateStability = 0;
  activeHours = 0;
  hourMark: number;
  leaked = 0;
  samples: string[] = [];
  constructor(
    ts: number,
    readonly id: number,
  ) {
    this.firstSeen = ts;
    this.lastSeen = ts;
    this.hourMark = Math.floor(ts / 3600);
  }
}

class PairRecord implements PairState {
  info: [number, number, number] = [0, 0, 0];
  infoTs: number;
  firstSeen: number;
  queries = 0;
  uniqueNames = 0;
  leaked = 0;
  encodedNames = 0;
  serviceInfo = 0;
  lastNewTs = 0;
  intervalMean = 0;
  intervalSquare = 0;
  intervals = 0;
  constructor(ts: number) {
    this.infoTs = ts;
    this.firstSeen = ts;
  }
}

class ClientRecord implements ClientState {
  info: [number, number, number] = [0, 0, 0];
  infoTs: number;
  firstSeen: number;
  domains = 0;
  serviceDomains = 0;
  recentDomains = 0;
  recentDomainsTs: number;
  leaked = 0;
  constructor(
    ts: number,
    readonly id: number,
  ) {
    this.infoTs = ts;
    this.firstSeen = ts;
    this.recentDomainsTs = ts;
  }
}

/** Marks the current hour active in the 32-hour activity mask. */
export function markActive(d: DomainState, ts: number): void {
  const hour = Math.floor(ts / 3600);
  const shift = hour - d.hourMark;
  if (shift > 0) {
    d.activeHours = shift >= 32 ? 0 : d.activeHours << shift;
    d.hourMark = hour;
  }
  d.activeHours |= 1;
}

export function activeHourCount(d: DomainState): number {
  let v = d.activeHours >>> 0;
  let n = 0;
  while (v) {
    v &= v - 1;
    n++;
  }
  return n;
}

/** A new name's template: the domain's dominant one gains stability; another wears it down and, below 0.3, replaces it. */
export function updateTemplate(domain: DomainState, template: number): void {
  if (domain.template === template) domain.templateStability += 0.1 * (1 - domain.templateStability);
  else {
    domain.templateStability *= 0.9;
    if (domain.templateStability < 0.3) domain.template = template;
  }
}
