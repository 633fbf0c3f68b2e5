/**
 * The query pipeline, assembled in one place. Read top to bottom:
 *
 *   listener → parse → defence → policy → local zones → Tunnel Guard → cache → shed → flood → upstream → respond → observers
 */
import type { PacketCache } from '../cache/packet-cache.js';
import type { ZoneRouter } from '../upstream/zone-router.js';
import { Pipeline, type PipelineErrorSink } from './pipeline.js';
import { CacheStage } from './stages/cache-stage.js';
import type { DefenceStage } from './stages/defence-stage.js';
import type { FloodStage } from './stages/flood-stage.js';
import type { ShedStage } from './stages/shed-stage.js';
import type { PolicyStage } from './stages/policy-stage.js';
import { ParseStage } from './stages/parse-stage.js';
import { UpstreamStage } from './stages/upstream-stage.js';
import type { ZoneStage } from './stages/zone-stage.js';
import type { Observer, Stage } from './stage.js';

/**
 * Tunnel Guard's place in the pipeline: the detector itself (GuardStage, one thread) or the gate
 * to the brain's shared block table (GuardGateStage, on an I/O thread).
 */
export interface GuardStageLike extends Stage {
  readonly mode: 'block' | 'monitor' | 'off';
  blockCounts(): Array<{ stage: string; reason: string; enforced: boolean; count: number }>;
}

export interface PipelineParts {
  pipeline: Pipeline;
  parse: ParseStage;
  defence: DefenceStage;
  cache: CacheStage;
  upstream: UpstreamStage;
  guard: GuardStageLike;
  policy: PolicyStage;
  flood: FloodStage;
  zone: ZoneStage;
  shed: ShedStage;
}

export function buildPipeline(
  cache: PacketCache,
  router: ZoneRouter,
  defence: DefenceStage,
  policy: PolicyStage,
  zone: ZoneStage,
  guard: GuardStageLike,
  flood: FloodStage,
  shed: ShedStage,
  observers: Observer[],
  onStageError: PipelineErrorSink,
): PipelineParts {
  const parse = new ParseStage();
  const cacheStage = new CacheStage(cache);
  const stages: Stage[] = [];
  const pipeline = new Pipeline(stages, observers, onStageError);
  const upstream = new UpstreamStage(router, cache, pipeline);
  stages.push(
    // First: every later stage decides on the question, and malformed input must stop here.
    parse,
    // Second: before any work a flood could make us do (policy, the detector, even a cache hit),
    // and after parse, which it needs for its answers and which already costs a flood of garbage little.
    defence,
    // Before Tunnel Guard and the cache: a name the operator's policy blocks must never reach the
    // cache or an upstream, and need not cost the detector anything.
    policy,
    // After policy (an operator's blocks and client groups hold for local names too), before Tunnel
    // Guard, the cache and upstream: our own authoritative names never leave this process, so there
    // is nothing to exfiltrate through them, nothing to cache, and no resolver to wait on.
    zone,
    // Before the cache: it must see every query, cached or not (a blocked domain's cached answers
    // must not be served), and tunnels defeat caches with unique names anyway.
    guard,
    // Before upstream: a hit ends the query without touching upstream code; misses are stored on the way back.
    cacheStage,
    // After the cache: under overload, what costs most (misses of the heaviest clients) goes first,
    // and cached answers keep being served; before flood, which would spend a token on it.
    shed,
    // After the cache, before upstream: cached names of a flooded domain keep being answered, and
    // only what would reach an upstream is limited (a flagged domain's new names, a zone's queries waiting).
    flood,
    // Last: the only stage that waits, and the one that serves stale answers when upstreams fail.
    upstream,
  );
  return { pipeline, parse, defence, cache: cacheStage, upstream, guard, policy, flood, zone, shed };
}
