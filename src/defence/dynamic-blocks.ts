/**
 * Dynamic blocks, the analysis half (main thread, off the query path), after dnsdist's
 * DynBlockRulesGroup: rules over the last seconds of each client prefix's traffic (queries,
 * NXDOMAIN or SERVFAIL answers, answer bytes, rare query types per second) that block the prefix
 * for a while when a rate is passed. The data planes count (client-traffic-counter.ts) and hand
 * their deltas over; `tick()` runs once a second, weighs every rule and returns whether the set
 * of blocks changed, which then goes to every data plane (dynamic-block-set.ts).
 *
 * Each tracked prefix keeps one bucket per second per metric over the longest rule window (at
 * most 60 s): 5 × 8 bytes × window seconds. A rule fires when its metric's sum over its window
 * passes rate × window; the first rule (in configuration order) that fires blocks the prefix for
 * the rule's duration. Blocked queries are still counted, so a block is extended while its rule
 * keeps firing: it ends `duration` after the last second the rule's rate was passed over its
 * window (as dnsdist refreshes a block). A prefix whose buckets are all empty is forgotten.
 *
 * Bounds: `maxTracked` prefixes (a new one past the cap is not tracked, counted in `untracked`),
 * `maxBlocks` blocks (a block past it is not made, counted in `overflow`).
 */
import { type Cidr, cidrContainsIpv4, cidrContainsIpv6, parseCidr } from '../util/cidr.js';
import { ClientPrefixKeys, EXEMPT, type PrefixKey, prefixKeyBytes, prefixKeyText } from './client-prefix-keys.js';
import { TRAFFIC_METRICS, type TrafficDeltas, TrafficMetric } from './client-traffic-counter.js';
import type { DynamicBlockAction, DynamicBlockEntry } from './dynamic-block-set.js';

export type TrafficRuleMetric = 'queries' | 'nxdomain' | 'servfail' | 'bytes' | 'rare-qtypes';

export interface DynamicBlockRule {
  name: string;
  metric: TrafficRuleMetric;
  /** Per second, averaged over the window (bytes per second for `bytes`). */
  rate: number;
  /** Milliseconds (whole seconds). */
  window: number;
  action: DynamicBlockAction;
  /** Milliseconds. */
  duration: number;
}

export interface DynamicBlockSettings {
  enabled: boolean;
  ipv4Prefix: number;
  ipv6Prefix: number;
  exempt: readonly string[];
  /** Query types (numbers) counted by the rare-qtypes metric. */
  rareQtypes: readonly number[];
  maxTracked: number;
  maxBlocks: number;
  rules: readonly DynamicBlockRule[];
}

/** A block as listed (dnsward blocks, the console, the snapshot). */
export interface DynamicBlock extends DynamicBlockEntry {
  metric: TrafficRuleMetric;
  /** The rate seen over the rule's window when the block started or was last extended. */
  observed: number;
  threshold: number;
  windowSeconds: number;
  /** Milliseconds since the epoch. */
  since: number;
  /** Times the rule fired again while the block was in force (each moves `until`). */
  extensions: number;
  /** The node that decided, when another node of a cluster did. */
  origin?: string;
}

export interface DynamicBlocksCounters {
  enabled: boolean;
  active: number;
  tracked: number;
  started: number;
  extended: number;
  expired: number;
  lifted: number;
  /** Blocks not made because maxBlocks were in force. */
  overflow: number;
  /** Deltas of prefixes not tracked because maxTracked were. */
  untracked: number;
}

const METRIC_INDEX: Record<TrafficRuleMetric, number> = {
  queries: TrafficMetric.QUERIES,
  nxdomain: TrafficMetric.NXDOMAIN,
  servfail: TrafficMetric.SERVFAIL,
  bytes: TrafficMetric.BYTES,
  'rare-qtypes': TrafficMetric.RARE_QTYPES,
};

const METRIC_TEXT: Record<TrafficRuleMetric, string> = {
  queries: 'queries/s',
  nxdomain: 'NXDOMAIN answers/s',
  servfail: 'SERVFAIL answers/s',
  bytes: 'answer bytes/s',
  'rare-qtypes': 'rare-type queries/s',
};

const ACTION_TEXT: Record<DynamicBlockAction, string> = {
  drop: 'dropped',
  refused: 'answered REFUSED',
  truncate: 'answered TC=1 over UDP',
  nxdomain: 'answered NXDOMAIN',
};

const MAX_WINDOW_SECONDS = 60;

interface PrefixState {
  /** Per second of the last `span` seconds, TRAFFIC_METRICS counts, at (second % span). */
  buckets: Float64Array;
  /** The latest second written. */
  last: number;
}

export class DynamicBlocks {
  private settings!: DynamicBlockSettings;
  private keys!: ClientPrefixKeys;
  private exemptKeys!: ClientPrefixKeys;
  private span = 1;
  /** Each rule's metric index and window in seconds, worked out once per configuration. */
  private ruleMetric = new Int32Array(0);
  private ruleWindow = new Int32Array(0);
  private states = new Map<PrefixKey, PrefixState>();
  private blocks = new Map<PrefixKey, DynamicBlock>();
  private readonly counts = { started: 0, extended: 0, expired: 0, lifted: 0, overflow: 0, untracked: 0 };

  constructor(
    settings: DynamicBlockSettings,
    private readonly onStart: (block: DynamicBlock) => void,
  ) {
    this.configure(settings);
  }

  /**
   * Applies reloaded settings. Blocks in force stay (until they end) unless dynamic blocks were
   * turned off or the prefix lengths changed (their keys no longer mean the same clients); the
   * traffic seen is forgotten when the prefixes or the longest window changed.
   */
  configure(settings: DynamicBlockSettings): void {
    const old = this.settings;
    const span = Math.min(MAX_WINDOW_SECONDS, Math.max(1, ...settings.rules.map((r) => Math.ceil(r.window / 1000))));
    const prefixesChanged =
      old === undefined || old.ipv4Prefix !== settings.ipv4Prefix || old.ipv6Prefix !== settings.ipv6Prefix;
    if (prefixesChanged || span !== this.span || !settings.enabled) this.states = new Map();
    if (prefixesChanged || !settings.enabled) this.blocks = new Map();
    this.span = span;
    this.ruleMetric = Int32Array.from(settings.rules, (r) => METRIC_INDEX[r.metric]);
    this.ruleWindow = Int32Array.from(settings.rules, (r) => Math.min(span, Math.max(1, Math.round(r.window / 1000))));
    this.keys = new ClientPrefixKeys(settings.ipv4Prefix, settings.ipv6Prefix, []);
    // The data planes skip exempt clients before counting; blocks from other nodes are checked here.
    this.exemptKeys = new ClientPrefixKeys(settings.ipv4Prefix, settings.ipv6Prefix, settings.exempt);
    this.settings = settings;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** A data plane's deltas, counted in the second they arrive. */
  add(deltas: TrafficDeltas, nowMs: number): void {
    if (!this.settings.enabled) return;
    const second = Math.floor(nowMs / 1000);
    const span = this.span;
    for (let i = 0; i < deltas.keys.length; i++) {
      const key = deltas.keys[i];
      let state = this.states.get(key);
      if (state === undefined) {
        if (this.states.size >= this.settings.maxTracked) {
          this.counts.untracked++;
          continue;
        }
        state = { buckets: new Float64Array(span * TRAFFIC_METRICS), last: second };
        this.states.set(key, state);
      }
      advance(state, second, span);
      const at = (second % span) * TRAFFIC_METRICS;
      for (let m = 0; m < TRAFFIC_METRICS; m++) state.buckets[at + m] += deltas.counts[i * TRAFFIC_METRICS + m];
    }
  }

  /** Once a second: ends the blocks whose time is up, weighs every rule; true when the blocks changed. */
  tick(nowMs: number): boolean {
    let changed = false;
    for (const [key, b] of this.blocks) {
      if (b.until > nowMs) continue;
      this.blocks.delete(key);
      this.counts.expired++;
      changed = true;
    }
    if (!this.settings.enabled) return changed;
    const second = Math.floor(nowMs / 1000);
    const span = this.span;
    const rules = this.settings.rules;
    for (const [key, state] of this.states) {
      // Nothing for a whole span: every bucket is empty, and the prefix is forgotten.
      if (second - state.last >= span) {
        this.states.delete(key);
        continue;
      }
      advance(state, second, span);
      for (let r = 0; r < rules.length; r++) {
        const w = this.ruleWindow[r];
        const m = this.ruleMetric[r];
        let sum = 0;
        for (let t = second - w + 1; t <= second; t++) sum += state.buckets[(t % span) * TRAFFIC_METRICS + m];
        if (sum <= rules[r].rate * w) continue;
        if (this.block(key, rules[r], sum / w, w, nowMs)) changed = true;
        break;
      }
    }
    return changed;
  }

  private block(
    key: PrefixKey,
    rule: DynamicBlockRule,
    observed: number,
    windowSeconds: number,
    nowMs: number,
  ): boolean {
    const until = nowMs + rule.duration;
    const current = this.blocks.get(key);
    if (current !== undefined) {
      if (until <= current.until) return false;
      current.until = until;
      current.observed = observed;
      current.extensions++;
      this.counts.extended++;
      return true;
    }
    if (this.blocks.size >= this.settings.maxBlocks) {
      this.counts.overflow++;
      return false;
    }
    const prefix = prefixKeyText(key, this.settings.ipv4Prefix, this.settings.ipv6Prefix);
    const reason = `client ${prefix} passed dynamic block rule "${rule.name}" (${round(observed)} ${METRIC_TEXT[rule.metric]} over ${windowSeconds} s, limit ${rule.rate}): ${ACTION_TEXT[rule.action]} for ${rule.duration / 1000} s`;
    const b: DynamicBlock = {
      key,
      prefix,
      rule: rule.name,
      action: rule.action,
      until,
      reason,
      metric: rule.metric,
      observed,
      threshold: rule.rate,
      windowSeconds,
      since: nowMs,
      extensions: 0,
    };
    this.blocks.set(key, b);
    this.counts.started++;
    this.onStart(b);
    return true;
  }

  /**
   * A block another node of the cluster started: kept as this node's own (answered, listed,
   * lifted alike) but never weighed or extended here. An address exempt here is never blocked
   * from elsewhere; a block already here that ends as late or later stays as it is.
   */
  adopt(b: {
    prefix: string;
    rule: string;
    action: DynamicBlockAction;
    since: number;
    until: number;
    reason: string;
    origin: string;
  }): 'applied' | 'same' | 'allowlisted' | 'over-bound' {
    const address = b.prefix.split('/')[0];
    if (!this.settings.enabled || this.exemptKeys.keyOf(address) === EXEMPT) return 'allowlisted';
    const key = this.keys.keyOf(address);
    const current = this.blocks.get(key);
    if (current !== undefined && current.until >= b.until) return 'same';
    if (current === undefined && this.blocks.size >= this.settings.maxBlocks) {
      this.counts.overflow++;
      return 'over-bound';
    }
    const rule = this.settings.rules.find((r) => r.name === b.rule);
    const prefix = prefixKeyText(key, this.settings.ipv4Prefix, this.settings.ipv6Prefix);
    this.blocks.set(key, {
      key,
      prefix,
      rule: b.rule,
      action: b.action,
      until: b.until,
      reason: b.reason,
      metric: rule?.metric ?? 'queries',
      observed: 0,
      threshold: rule?.rate ?? 0,
      windowSeconds: 0,
      since: b.since,
      extensions: current === undefined ? 0 : current.extensions + 1,
      origin: b.origin,
    });
    if (current === undefined) this.counts.started++;
    else this.counts.extended++;
    return 'applied';
  }

  /** The blocks in force, soonest end first. */
  list(): DynamicBlock[] {
    return [...this.blocks.values()].sort((a, b) => a.until - b.until);
  }

  /** What the data planes need of each block. */
  entries(): DynamicBlockEntry[] {
    return [...this.blocks.values()].map(({ key, prefix, rule, action, until, reason }) => ({
      key,
      prefix,
      rule,
      action,
      until,
      reason,
    }));
  }

  /**
   * Lifts the blocks on an address or a range (any block whose prefix overlaps it) and forgets
   * their traffic, so the rules do not block them again at once on what they saw before.
   * Throws when the text is neither an address nor a CIDR.
   */
  lift(text: string): DynamicBlock[] {
    const c = parseCidr(text);
    if (typeof c === 'string') throw new Error(`${c}: expected a client address or CIDR range`);
    const lifted: DynamicBlock[] = [];
    for (const [key, b] of this.blocks) {
      if (!this.overlaps(key, c)) continue;
      this.blocks.delete(key);
      this.states.delete(key);
      lifted.push(b);
    }
    this.counts.lifted += lifted.length;
    return lifted;
  }

  /** Whether the CIDR and a block's prefix share an address (one holds the other's network). */
  private overlaps(key: PrefixKey, c: Cidr): boolean {
    const s = this.settings;
    if (typeof key === 'number') {
      const n = key >>> 0;
      return (
        cidrContainsIpv4(c, n) ||
        cidrContainsIpv4({ family: 4, bits: s.ipv4Prefix, v4: n, bytes: new Uint8Array(0) }, c.v4)
      );
    }
    if (key.startsWith('?') || c.family !== 6) return false;
    const bytes = prefixKeyBytes(key);
    return cidrContainsIpv6(c, bytes) || cidrContainsIpv6({ family: 6, bits: s.ipv6Prefix, v4: 0, bytes }, c.bytes);
  }

  /** The prefix key of a client address under these settings (tests, and an operator's lookups). */
  keyOf(address: string): PrefixKey | undefined {
    const key = this.keys.keyOf(address);
    return key === EXEMPT ? undefined : key;
  }

  counters(): DynamicBlocksCounters {
    return { enabled: this.settings.enabled, active: this.blocks.size, tracked: this.states.size, ...this.counts };
  }
}

/** Zeroes the buckets of the seconds after the last one written, up to `second` (at most a whole span). */
function advance(state: PrefixState, second: number, span: number): void {
  if (second <= state.last) return;
  const from = Math.max(state.last + 1, second - span + 1);
  for (let t = from; t <= second; t++)
    state.buckets.fill(0, (t % span) * TRAFFIC_METRICS, ((t % span) + 1) * TRAFFIC_METRICS);
  state.last = second;
}

function round(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}
