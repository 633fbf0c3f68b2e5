/**
 * A node's link to the others through Redis: it sends this node's decisions and applies theirs.
 *
 * - Sending never waits: publish() puts the decision on a bounded queue (`cluster.queueSize`;
 *   when full the oldest is dropped, counted) and returns. A flush on a later turn of the event
 *   loop writes each one with a small Lua script that, in one step, keeps it in the hash of
 *   current decisions (if it is newer than the one there), notes its expiry in a sorted set and
 *   publishes it on the channel.
 * - Receiving: every message is checked (decision.ts); our own echoes are ignored; others go to
 *   the DecisionTarget (the server), which applies them as if decided here, or refuses them
 *   (older than what it holds, or on a domain this node's operator allowed), counted by reason.
 * - Joining and rejoining (each connect, and every `resyncInterval`, because pub/sub delivers at
 *   most once): the subscription comes first, then the whole set is read and applied, then the
 *   decisions this node holds that Redis lacks or holds older are written back. Two nodes that
 *   decided apart while Redis was down, or a Redis that restarted empty, converge this way.
 * - Redis down or slow: commands fail at once or after `commandTimeout` (no offline queue), and
 *   the node goes on deciding alone; the loss is logged once and counted.
 *
 * Bounds: the queue (`queueSize` decisions), the set read at a sync (`maxDecisions`), messages
 * of at most MAX_MESSAGE_BYTES; Redis keeps decisions until they expire (pruned at each sync).
 */
import type { Logger } from 'pino';
import { ClusterCounters, type ClusterSnapshot } from './cluster-counters.js';
import { type Decision, decisionField, type DropReason, parseDecision } from './decision.js';
import { type ClusterConfig, connectRedis, describeRedis, type RedisConnection } from './redis-client.js';

/** What a decision from another node did here. */
export type ApplyOutcome = 'applied' | 'same' | 'stale' | 'allowlisted' | 'over-bound';

/** The node's side: where decisions from others go, and what this node holds now. */
export interface DecisionTarget {
  apply(decision: Decision, from: 'message' | 'sync'): ApplyOutcome;
  /** Every decision in force here (any origin), so a sync can write back what Redis lacks. */
  current(): Decision[];
}

/** Keeps the newer of the stored and the new decision of a field, and publishes only a change. */
const WRITE_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, old = pcall(cjson.decode, cur)
  if ok and type(old) == 'table' and type(old.version) == 'number' and old.version > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1`;

/** Drops decisions past their expiry, a page at a time. */
const PRUNE_LUA = `
local f = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
if #f > 0 then
  redis.call('HDEL', KEYS[1], unpack(f))
  redis.call('ZREM', KEYS[2], unpack(f))
end
return #f`;

const FLUSH_BATCH = 256;
const SCAN_COUNT = 500;
/** Refused messages are logged at most this often (each is counted). */
const DROP_LOG_INTERVAL_MS = 10_000;
/** How long stop() lets the queue drain to a connected Redis. */
const STOP_FLUSH_MS = 500;

interface DecisionCommands {
  dnswardWrite(
    decisions: string,
    expiry: string,
    field: string,
    text: string,
    version: number,
    until: number,
    channel: string,
  ): Promise<number>;
  dnswardPrune(decisions: string, expiry: string, now: number): Promise<number>;
}

export class ClusterSync {
  readonly counters = new ClusterCounters();
  private queue: Decision[] = [];
  private cmd: (RedisConnection & DecisionCommands) | null = null;
  private sub: RedisConnection | null = null;
  private cmdReady = false;
  private subReady = false;
  private wasConnected = false;
  private flushScheduled = false;
  private flushing: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private lastSyncAt: number | null = null;
  private lastDropLog = 0;
  private stopped = true;

  constructor(
    private config: ClusterConfig,
    private readonly target: DecisionTarget,
    private readonly log: Logger,
  ) {}

  get node(): string {
    return this.config.nodeName;
  }

  get connected(): boolean {
    return this.cmdReady && this.subReady;
  }

  get keys(): { decisions: string; expiry: string; channel: string; events: string } {
    // One hash tag: both keys live in one slot of a Redis Cluster, as the scripts need.
    const p = this.config.keyPrefix;
    return {
      decisions: `{${p}}:decisions`,
      expiry: `{${p}}:expiry`,
      channel: `${p}:decisions`,
      events: `{${p}}:events`,
    };
  }

  /** Connects in the background: DNS starts (and answers) whether Redis is there or not. */
  start(): void {
    this.stopped = false;
    const cmd = connectRedis(this.config, 'cmd') as RedisConnection & DecisionCommands;
    const sub = connectRedis(this.config, 'sub');
    cmd.defineCommand('dnswardWrite', { numberOfKeys: 2, lua: WRITE_LUA });
    cmd.defineCommand('dnswardPrune', { numberOfKeys: 2, lua: PRUNE_LUA });
    this.cmd = cmd;
    this.sub = sub;
    // An 'error' without a listener would end the process: Redis trouble is logged and counted instead.
    cmd.on('error', (err: Error) => this.log.debug({ err: err.message }, 'cluster: Redis command connection error'));
    sub.on('error', (err: Error) => this.log.debug({ err: err.message }, 'cluster: Redis subscriber connection error'));
    cmd.on('ready', () => {
      this.cmdReady = true;
      this.onReady();
    });
    sub.on('ready', () => void this.subscribe(sub));
    cmd.on('close', () => this.onDown(() => (this.cmdReady = false)));
    sub.on('close', () => this.onDown(() => (this.subReady = false)));
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.onMessage(message));
    cmd.connect().catch(() => {});
    sub.connect().catch(() => {});
    this.timer = setInterval(() => this.requestSync(), this.config.resyncInterval);
    this.timer.unref();
    this.log.info({ node: this.node, redis: describeRedis(this.config) }, 'cluster: connecting to Redis');
  }

  /** Applies new settings; a change of where Redis is (or of the node's name or prefix) reconnects. */
  async reload(next: ClusterConfig): Promise<void> {
    const where = (c: ClusterConfig) =>
      JSON.stringify([c.redis, c.nodeName, c.keyPrefix, c.commandTimeout, c.resyncInterval]);
    if (where(next) === where(this.config)) {
      this.config = next;
      return;
    }
    await this.stop();
    this.config = next;
    this.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.connected && this.queue.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_FLUSH_MS)))]);
      clearTimeout(timer);
    }
    this.cmdReady = false;
    this.subReady = false;
    this.wasConnected = false;
    this.cmd?.disconnect();
    this.sub?.disconnect();
    this.cmd = null;
    this.sub = null;
    // A sync in flight fails on the closed connection; wait so nothing runs after stop().
    await this.syncing?.catch(() => {});
  }

  /** Shares a decision made here. Never waits and never throws: the query path may call it. */
  publish(decision: Decision): void {
    if (this.queue.length >= this.config.queueSize) {
      this.queue.shift();
      this.drop('queue-full', 'the queue of decisions for Redis is full: dropped the oldest');
    }
    this.queue.push(decision);
    this.scheduleFlush();
  }

  snapshot(): ClusterSnapshot {
    const c = this.counters;
    return {
      node: this.node,
      redis: describeRedis(this.config),
      connected: this.connected,
      queueDepth: this.queue.length,
      published: c.published,
      received: c.received,
      applied: c.applied,
      dropped: { ...c.dropped },
      syncs: c.syncs,
      pushed: c.pushed,
      disconnects: c.disconnects,
      lastSyncAt: this.lastSyncAt,
      learning: { pairs: 0, ...c.learning },
      fleet: { ...c.fleet },
    };
  }

  /** The command connection while Redis is reachable (for shared learning's rounds), else null. */
  redis(): RedisConnection | null {
    return this.connected ? this.cmd : null;
  }

  /** Settles when no flush or sync is under way (tests, benchmarks). */
  async idle(): Promise<void> {
    await this.flushing;
    await this.syncing?.catch(() => {});
  }

  private async subscribe(sub: RedisConnection): Promise<void> {
    try {
      await sub.subscribe(this.keys.channel);
      if (sub !== this.sub) return;
      this.subReady = true;
      this.onReady();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cluster: could not subscribe to the decisions channel');
    }
  }

  private onReady(): void {
    if (!this.connected || this.stopped) return;
    if (!this.wasConnected)
      this.log.info(
        { node: this.node, redis: describeRedis(this.config), queued: this.queue.length },
        'cluster: connected to Redis: loading the shared decisions',
      );
    this.wasConnected = true;
    this.scheduleFlush();
    this.requestSync();
  }

  private onDown(mark: () => void): void {
    mark();
    if (this.wasConnected && !this.stopped) {
      this.wasConnected = false;
      this.counters.disconnects++;
      this.log.warn(
        { node: this.node, redis: describeRedis(this.config) },
        'cluster: Redis unreachable: deciding alone, decisions queued until it returns',
      );
    }
  }

  private onMessage(message: Buffer): void {
    this.counters.received++;
    try {
      const parsed = parseDecision(message, Date.now());
      if (!parsed.ok) return this.drop(parsed.reason, `refused a message from Redis: ${parsed.detail}`);
      const d = parsed.decision;
      if (d.origin === this.node) return;
      const outcome = this.target.apply(d, 'message');
      if (outcome === 'applied') {
        this.counters.applied++;
        this.counters.lag.observe(Math.max(0, Date.now() - d.sentAt));
      } else if (outcome !== 'same')
        this.drop(outcome, `did not apply ${d.kind} ${d.domain ?? d.client ?? d.prefix} from ${d.origin}: ${outcome}`);
    } catch (err) {
      // A message must never take the node down: whatever it did, it is dropped and counted.
      this.drop('malformed', `a message from Redis failed to apply: ${(err as Error).message}`);
    }
  }

  private drop(reason: DropReason, message: string): void {
    this.counters.dropped[reason]++;
    const now = Date.now();
    if (now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return;
    this.lastDropLog = now;
    this.log.warn({ reason, dropped: this.counters.dropped }, `cluster: ${message}`);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.queue.length === 0 || !this.connected) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushing ??= this.flush().finally(() => {
        this.flushing = null;
        this.scheduleFlush();
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0 && this.connected) {
      const batch = this.queue.splice(0, FLUSH_BATCH);
      await Promise.all(batch.map((d) => this.write(d)));
    }
  }

  /** Writes one decision (kept if newer, published). A failure is counted: the next sync writes it again. */
  private async write(d: Decision): Promise<boolean> {
    const cmd = this.cmd;
    if (cmd === null) return false;
    const k = this.keys;
    try {
      const text = JSON.stringify({ ...d, sentAt: Date.now() });
      const written = await cmd.dnswardWrite(
        k.decisions,
        k.expiry,
        decisionField(d),
        text,
        d.version,
        Math.ceil(d.until),
        k.channel,
      );
      if (written === 1) this.counters.published++;
      else this.counters.dropped.stale++;
      return written === 1;
    } catch (err) {
      this.drop(
        'redis-error',
        `a decision was not written to Redis (${(err as Error).message}); the next sync writes it`,
      );
      return false;
    }
  }

  private requestSync(): void {
    if (!this.connected || this.stopped) return;
    if (this.syncing !== null) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.sync()
      .catch((err) =>
        this.drop('redis-error', `sync with Redis failed (${(err as Error).message}); retrying at the next one`),
      )
      .finally(() => {
        this.syncing = null;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.requestSync();
        }
      });
  }

  /** Reads the shared set and applies it, then writes back what this node holds newer, then prunes. */
  private async sync(): Promise<void> {
    const cmd = this.cmd;
    if (cmd === null) return;
    const k = this.keys;
    const now = Date.now();
    const remote = new Map<string, Decision>();
    let cursor = '0';
    let read = 0;
    do {
      const [next, flat] = await cmd.hscan(k.decisions, cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (++read > this.config.maxDecisions) {
          this.counters.dropped['over-bound']++;
          continue;
        }
        const parsed = parseDecision(flat[i + 1], now);
        // Expired entries wait for the prune below; they are not news.
        if (!parsed.ok) {
          if (parsed.reason !== 'expired')
            this.drop(parsed.reason, `refused a stored decision (${flat[i]}): ${parsed.detail}`);
          continue;
        }
        if (decisionField(parsed.decision) !== flat[i]) {
          this.drop('malformed', `refused a stored decision: field ${flat[i]} does not match its content`);
          continue;
        }
        remote.set(flat[i], parsed.decision);
      }
    } while (cursor !== '0' && read <= this.config.maxDecisions);
    // Oldest first, so a later decision on the same subject (an unblock after its block) applies last.
    for (const d of [...remote.values()].sort((a, b) => a.version - b.version)) {
      const outcome = this.target.apply(d, 'sync');
      if (outcome === 'applied') this.counters.applied++;
      else if (outcome === 'allowlisted' || outcome === 'over-bound') this.counters.dropped[outcome]++;
    }
    const missing = this.target.current().filter((d) => {
      const stored = remote.get(decisionField(d));
      return stored === undefined || stored.version < d.version;
    });
    for (let i = 0; i < missing.length; i += FLUSH_BATCH) {
      const written = await Promise.all(missing.slice(i, i + FLUSH_BATCH).map((d) => this.write(d)));
      this.counters.pushed += written.filter(Boolean).length;
    }
    await cmd.dnswardPrune(k.decisions, k.expiry, Math.floor(Date.now() / 1000));
    this.counters.syncs++;
    this.lastSyncAt = Date.now();
  }
}
