/** What Tunnel Guard is given, keeps and is told by operators: the shapes its stages and callers share. */
import type { CharacterModel } from './character-model.js';
import type { Sensitivity, StageReport } from './verdict.js';

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
  /** Domain blocks ended because other clients were seen sharing the domain's lookups (shared-labels.ts). */
  sharedLifts: number;
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
