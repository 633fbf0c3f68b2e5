/**
 * What Tunnel Guard's parts see of the guard: the stages (stages/), blocks (domain-blocks.ts),
 * operator overrides (operator-overrides.ts) and the console's read model (guard-read-model.ts).
 * They take this interface, not the TunnelGuard class, because the class imports them: with the
 * class as their parameter type the guard's files formed one import cycle. TunnelGuard implements
 * it; a test can hand a part a context of its own. Type-only: nothing here runs.
 */
import type { TwoGenerationMap } from '../util/two-generation-map.js';
import type { CharacterModel } from './character-model.js';
import type { ClientState, DomainState, PairState } from './guard-state.js';
import type { AllowOverride, DomainBlock, GuardCounters, Quarantine } from './guard-types.js';
import type { LogHistogram } from './log-histogram.js';
import type { QtypeModel } from './qtype-model.js';
import type { SeenNames } from './seen-names.js';
import type { Cidr } from '../util/cidr.js';

/** Other nodes' information windows at `ts` (src/cluster/shared-learning.ts fills them). */
export type RemoteWindows = Map<string, { ts: number; info: [number, number, number] }>;

export interface GuardContext {
  // What the network taught (stage 1 reads, the engine learns).
  readonly model: CharacterModel;
  readonly qtypes: QtypeModel;
  readonly nameBits: LogHistogram;
  // Learned parameters, recomputed at the engine's refresh points.
  readonly allowanceBits: number;
  readonly budget: number;
  readonly queryBudget: number;
  /** The sensitivity's scale on every budget. */
  readonly scale: number;

  // State per key, bounded maps and filters.
  readonly domains: TwoGenerationMap<string, DomainState>;
  readonly clients: TwoGenerationMap<string, ClientState>;
  readonly pairs: TwoGenerationMap<number, PairState>;
  readonly seen: SeenNames;
  readonly seenPairs: SeenNames;
  readonly seenUsers: SeenNames;
  readonly sharedLabels: SeenNames;
  /** Next record ids (see pairKey): stages 0 and 2 hand them out. */
  nextDomainId: number;
  nextClientId: number;
  readonly counters: GuardCounters;

  // Blocks and operator decisions.
  readonly blocks: TwoGenerationMap<string, DomainBlock>;
  readonly clientBlocks: TwoGenerationMap<string, DomainBlock>;
  readonly unblocked: Map<string, { incident: string; at: number }>;
  overrides: Array<AllowOverride & { match: Cidr | undefined }>;
  quarantines: Array<Quarantine & { match: Cidr }>;

  // What the engine's owner plugged in (a flood detector, a cluster).
  readonly isFlooded: ((domain: string) => boolean) | null;
  readonly onBlock: ((domain: string, block: DomainBlock) => void) | null;
  readonly onInfo: ((pairName: string, pair: PairState, ratio: number) => void) | null;
  readonly onClientInfo: ((client: string, state: ClientState, ratio: number) => void) | null;
  readonly remoteInfo: RemoteWindows;
  readonly remoteClientInfo: RemoteWindows;
}
