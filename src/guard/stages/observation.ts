/**
 * The stage contract of Tunnel Guard. One Observation per weighed query (a name not seen
 * before, or one under a block) goes through the stages in order (tunnel-guard.ts): each
 * stage reads what the earlier ones found, adds its own findings, and can report them as its
 * part of the trace. Reports are built only when someone reads them (`dnsward analyze`, or a
 * verdict other than a plain allow), from the findings, so the trace says exactly what decided.
 */
import type { ClientState, DomainState, PairState } from '../guard-state.js';
import type { AllowOverride, GuardQuery } from '../guard-types.js';
import type { NameAnatomy } from '../name-anatomy.js';
import type { SubdomainShape } from '../name-template.js';
import type { ServiceParts } from '../service-name.js';
import type { GuardContext } from '../guard-context.js';
import type { GuardAction, StageName, StageReport, Verdict } from '../verdict.js';

export interface GuardStage {
  readonly name: StageName;
  /** This stage's findings in `o` as its part of the trace. */
  report(o: Observation): StageReport;
}

/** What the normal stage found about the domain (also the console's read model's view). */
export interface NormalFindings {
  known: string | undefined;
  hours: number;
  established: boolean;
  stableTemplate: boolean;
  multiplier: number;
  recognised: boolean;
  /** Many clients ask the same long labels under the domain: a lookup service (shared-labels.ts). */
  shared: boolean;
}

export class Observation {
  // Stage 0: anatomy.
  anatomy!: NameAnatomy;
  domainName = '';
  /** The subdomain's labels in their original case. */
  subLabels: string[] = [];
  override: AllowOverride | undefined = undefined;
  domain!: DomainState;

  // Stage 1: query.
  isNew = false;
  /** How much more a name weighs for its query type (tunnels favour NULL, TXT, …). */
  weight = 1;
  qtypeBits = 0;
  bits = 0;
  /** The subdomain's bits with every label at full weight: what the name-size distribution learns. */
  rawBits = 0;
  excessBytes = 0;
  shape: SubdomainShape | undefined = undefined;
  service: ServiceParts | undefined = undefined;

  // Stage 2: state (accounting, then weighing against the normal's budgets).
  client!: ClientState;
  pair!: PairState;
  /** The role's factor on this name's hour and day budgets, and on the client's total. */
  role = 1;
  totalRole = 1;
  encoded = false;
  /** Bytes this query added to the client's total across domains. */
  clientBytes = 0;
  pairQueries = 0;
  pairNewNames = 0;
  /** This pair's windows, other nodes' included. */
  pairInfo: [number, number, number] = [0, 0, 0];
  sharedPair = false;
  ratio = 0;
  stateScore = 0;
  beaconCv = -1;
  beaconSeconds = 0;
  clientDayBytes = -1;
  reasons: string[] = [];

  // Stage 3: normal.
  normal!: NormalFindings;
  domainClients = 0;
  age = 0;

  // Stage 4: decision.
  action: GuardAction = 'allow';
  scope: Verdict['scope'] = 'none';
  incident: string | undefined = undefined;
  /** When the block this query started ends (unix seconds). */
  blockedUntil: number | undefined = undefined;
  queryTooBig = false;
  score = 0;
  leaked = 0;
  samples: string[] | undefined = undefined;

  constructor(
    readonly guard: GuardContext,
    readonly q: GuardQuery,
    readonly lower: string[],
    readonly seenKey: string,
  ) {}
}
