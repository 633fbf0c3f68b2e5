/**
 * Learning as one: the information windows of a client × domain pair (the minute, hour and day
 * budgets Tunnel Guard blocks on), and of a client across all its domains (the check of
 * exfiltration spread over many domains), summed over the nodes, so a tunnel whose queries
 * alternate between nodes spends one budget, not one per node.
 *
 * Each node writes its own windows of the pairs and clients that grew since the last round as
 * its field of their Redis hash (`{prefix}:pair:CLIENT DOMAIN` or `{prefix}:client:CLIENT`, field
 * = node, value = "ts,minute,hour,day"; a day's expiry), and reads the other nodes' fields back;
 * their sum, decayed to the query's time, is what the guard adds to its own windows when it
 * checks a budget (TunnelGuard.remoteInfo, remoteClientInfo).
 * Writing absolute windows per node (not increments) makes a repeated or lost round harmless:
 * nothing is counted twice, the next round corrects what one missed.
 *
 * Off the query path: the guard only notes a pair (a map write); rounds run on a timer every
 * `learnInterval` in one Redis pipeline. A decision uses the other nodes' bytes as of the last
 * round: a tunnel is cut within about one budget plus what it sends in one interval.
 *
 * Only pairs and clients past SHARE_RATIO of a budget are shared. Bounds: `maxSharedPairs` pairs and clients remembered (least recently grown forgotten, counted); per round
 * at most ROUND_PAIRS written and read; fields of at most MAX_NODES other nodes summed per pair.
 */
import type { Logger } from 'pino';
import { NODE_NAME } from '../config/schema.js';
import { type InfoWindows, WINDOW_SECONDS } from '../guard/guard-state.js';
import type { TunnelGuard } from '../guard/tunnel-guard.js';
import type { ClusterCounters } from './cluster-counters.js';
import type { ClusterConfig, RedisConnection } from './redis-client.js';

const ROUND_PAIRS = 2000;
const MAX_NODES = 64;
/** A pair's or client's hash lives a day past its last write (the longest window). */
const TTL_MS = 86_400_000;
/** Every this many rounds, pairs that grew in the last REREAD_SECONDS are read again even if quiet here. */
const REREAD_EVERY = 8;
const REREAD_SECONDS = 600;
/**
 * A pair is shared once it has spent this share of a budget on this node (Tunnel Guard's stage-2
 * ratio), and from then on while it is remembered: a tunnel's pair gets there within a few
 * queries, a network's ordinary pairs almost never do, so Redis traffic follows the suspect
 * pairs, not the queries (bench/cluster-learning-traffic.ts).
 */
export const SHARE_RATIO = 0.25;
/** Largest window value accepted from another node (bytes): far above any budget. */
const MAX_BYTES = 1e7;

export interface LearningLink {
  readonly node: string;
  /** The command connection while Redis is reachable; null otherwise (the round is skipped). */
  redis(): RedisConnection | null;
}

/** What is shared: `pair:CLIENT DOMAIN` or `client:CLIENT` (also the Redis key after the prefix). */
type SharedKey = string;

export class SharedLearning {
  /** Pairs and clients that grew since the last round. */
  private readonly dirty = new Map<SharedKey, InfoWindows>();
  /** Pairs and clients shared lately (least recently grown first), with when they last grew here. */
  private readonly known = new Map<SharedKey, { grew: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private rounds = 0;

  constructor(
    private readonly guard: TunnelGuard,
    private config: ClusterConfig,
    private readonly link: LearningLink,
    private readonly counters: ClusterCounters,
    private readonly log: Logger,
  ) {}

  get pairs(): number {
    return this.known.size;
  }

  start(): void {
    if (this.config.learnInterval === 0) return;
    this.guard.onInfo = (name, pair, ratio) => this.note(`pair:${name}`, pair, ratio);
    this.guard.onClientInfo = (client, state, ratio) => this.note(`client:${client}`, state, ratio);
    this.timer = setInterval(() => void this.round(), this.config.learnInterval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.guard.onInfo = null;
    this.guard.onClientInfo = null;
    this.guard.remoteInfo.clear();
    this.guard.remoteClientInfo.clear();
    this.dirty.clear();
    this.known.clear();
  }

  reload(next: ClusterConfig): void {
    this.stop();
    this.config = next;
    this.start();
  }

  private note(key: SharedKey, windows: InfoWindows, ratio: number): void {
    if (ratio < SHARE_RATIO && !this.known.has(key)) return;
    this.dirty.set(key, windows);
    this.known.delete(key);
    this.known.set(key, { grew: Date.now() / 1000 });
    while (this.known.size > this.config.maxSharedPairs) {
      const oldest = this.known.keys().next().value!;
      this.known.delete(oldest);
      this.dirty.delete(oldest);
      const { map, name } = this.remote(oldest);
      map.delete(name);
      this.counters.learning.forgotten++;
    }
  }

  /** The guard's map of other nodes' windows a key belongs in, and its name there. */
  private remote(key: SharedKey): { map: TunnelGuard['remoteInfo']; name: string } {
    return key.startsWith('pair:')
      ? { map: this.guard.remoteInfo, name: key.slice(5) }
      : { map: this.guard.remoteClientInfo, name: key.slice(7) };
  }

  /** Writes the pairs that grew, reads every node's windows of them (and now and then of recent quiet ones). */
  async round(): Promise<void> {
    const redis = this.link.redis();
    if (this.running || redis === null) return;
    const write: Array<[SharedKey, InfoWindows]> = [];
    for (const entry of this.dirty) {
      if (write.length >= ROUND_PAIRS) break;
      write.push(entry);
    }
    for (const [name] of write) this.dirty.delete(name);
    const read = new Set(write.map(([name]) => name));
    const now = Date.now() / 1000;
    if (++this.rounds % REREAD_EVERY === 0) {
      // Newest first: the pairs most likely still in use.
      for (const [name, k] of [...this.known].reverse()) {
        if (read.size >= ROUND_PAIRS || k.grew < now - REREAD_SECONDS) break;
        read.add(name);
      }
    }
    if (read.size === 0) return;
    this.running = true;
    const prefix = `{${this.config.keyPrefix}}:`;
    try {
      const p = redis.pipeline();
      for (const [name, w] of write) {
        p.hset(prefix + name, this.link.node, `${w.infoTs},${w.info[0]},${w.info[1]},${w.info[2]}`);
        p.pexpire(prefix + name, TTL_MS);
      }
      const names = [...read];
      for (const name of names) p.hgetall(prefix + name);
      const results = (await p.exec()) ?? [];
      this.counters.learning.written += write.length;
      const replies = results.slice(write.length * 2);
      names.forEach((name, i) => {
        const [err, fields] = replies[i] ?? [null, null];
        if (err !== null || fields === null || typeof fields !== 'object') return;
        this.counters.learning.read++;
        this.merge(name, fields as Record<string, string>, Date.now() / 1000);
      });
    } catch (err) {
      this.counters.dropped['redis-error']++;
      this.log.debug({ err: (err as Error).message }, 'cluster: shared learning round failed');
    } finally {
      this.running = false;
    }
  }

  /** Sums the other nodes' windows of one pair or client, decayed to `now`, into the guard's view. */
  private merge(key: SharedKey, fields: Record<string, string>, now: number): void {
    const sum: [number, number, number] = [0, 0, 0];
    let nodes = 0;
    for (const [node, value] of Object.entries(fields)) {
      if (node === this.link.node) continue;
      if (++nodes > MAX_NODES) break;
      const parts = value.split(',').map(Number);
      const valid =
        NODE_NAME.test(node) &&
        parts.length === 4 &&
        parts.every((v) => Number.isFinite(v) && v >= 0) &&
        parts[0] <= now + 600 &&
        parts[1] <= MAX_BYTES &&
        parts[2] <= MAX_BYTES &&
        parts[3] <= MAX_BYTES;
      if (!valid) {
        this.counters.dropped.malformed++;
        continue;
      }
      const age = Math.max(0, now - parts[0]);
      for (let w = 0; w < 3; w++) sum[w] += parts[w + 1] * Math.exp(-age / WINDOW_SECONDS[w]);
    }
    const { map, name } = this.remote(key);
    if (sum[2] > 0) map.set(name, { ts: now, info: sum });
    else map.delete(name);
  }
}
