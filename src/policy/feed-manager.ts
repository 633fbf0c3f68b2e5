/**
 * Policy feeds: loaded from a file or an HTTP(S) URL, parsed in a worker thread, swapped in
 * whole (a lookup sees the old table or the new one, never half of one), refreshed on a
 * schedule with conditional requests (ETag / If-Modified-Since). A feed that fails to download
 * or parse keeps its last good version, and says why. A loaded table is kept in shared memory,
 * so threads that answer queries read it where it is (shared-feeds.ts) instead of each holding
 * a copy.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import type { FeedFormat, ParsedFeed } from './feed-parse.js';
import { IpRuleSet } from './ip-rule-set.js';
import { RuleSet, shareRuleSetData } from './rule-set.js';

export interface FeedConfig {
  name: string;
  category: string;
  format: FeedFormat;
  path?: string;
  url?: string;
  /** RPZ zone name, when the file has neither $ORIGIN nor a SOA to tell it. */
  zone?: string;
  refreshMs: number;
}

/** The feeds of a validated configuration (`policy.feeds`), as the manager takes them. */
export function feedConfigs(feeds: Config['policy']['feeds']): FeedConfig[] {
  return feeds.map((f) => ({
    name: f.name,
    category: f.category,
    format: f.format,
    path: f.path,
    url: f.url,
    zone: f.zone,
    refreshMs: f.refresh,
  }));
}

export interface FeedState {
  config: FeedConfig;
  rules: RuleSet | null;
  /** Response-IP (rpz-ip) rules, when the feed has any. */
  ipRules: IpRuleSet | null;
  /** Client-IP (rpz-client-ip) rules, when the feed has any. */
  clientIpRules: IpRuleSet | null;
  format?: string;
  /** The loaded version: the RPZ serial when there is one, else a content hash, with the load time. */
  version: string;
  loadedAt: number | null;
  ruleCount: number;
  skipped: Record<string, number>;
  errors: number;
  lastError: string | null;
  lastCheck: number | null;
  etag?: string;
  lastModified?: string;
  mtimeMs?: number;
  size?: number;
  loads: number;
  failures: number;
}

/** What a PolicyEngine reads of the feeds: a FeedManager's own, or another thread's view of them (SharedFeeds). */
export interface FeedSource {
  readonly feeds: ReadonlyMap<string, FeedState>;
}

export class FeedManager implements FeedSource {
  readonly feeds = new Map<string, FeedState>();
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, (m: { parsed?: ParsedFeed; error?: string }) => void>();
  private timers: NodeJS.Timeout[] = [];
  /** Called after a feed's table changed (or failed), for logs and events. */
  onChange: (feed: FeedState, ok: boolean) => void = () => {};

  constructor(configs: FeedConfig[]) {
    for (const config of configs)
      this.feeds.set(config.name, {
        config,
        rules: null,
        ipRules: null,
        clientIpRules: null,
        version: '',
        loadedAt: null,
        ruleCount: 0,
        skipped: {},
        errors: 0,
        lastError: null,
        lastCheck: null,
        loads: 0,
        failures: 0,
      });
  }

  /** Loads every feed once (in parallel), then refreshes each on its schedule. */
  async start(): Promise<void> {
    await Promise.all([...this.feeds.values()].map((f) => this.refresh(f.config.name)));
    for (const f of this.feeds.values()) {
      const t = setInterval(() => void this.refresh(f.config.name), f.config.refreshMs);
      t.unref();
      this.timers.push(t);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.worker?.terminate();
    this.worker = null;
  }

  /** Fetches and parses one feed now; resolves true when a new version is in force. */
  async refresh(name: string): Promise<boolean> {
    const f = this.feeds.get(name);
    if (f === undefined) throw new Error(`no feed ${name}`);
    f.lastCheck = Date.now();
    let content: Uint8Array | null;
    try {
      content = await this.fetchContent(f);
    } catch (err) {
      return this.fail(f, `cannot read ${f.config.url ?? f.config.path}: ${(err as Error).message}`);
    }
    if (content === null) return false; // not modified
    const digest = createHash('sha256').update(content).digest('hex').slice(0, 12);
    const reply = await this.parse(content, f.config);
    if (reply.error !== undefined || reply.parsed === undefined) return this.fail(f, `parse failed: ${reply.error}`);
    const p = reply.parsed;
    if (p.refused !== undefined) return this.fail(f, `refused the new version: ${p.refused}`);
    // Into shared memory, once (the transferred buffers are then garbage): every thread that
    // answers queries reads this one copy, where a feed of 5M rules is 96 MiB.
    f.rules = new RuleSet(shareRuleSetData(p.table));
    f.ipRules = p.ipRules.length > 0 ? new IpRuleSet(p.ipRules) : null;
    f.clientIpRules = p.clientIpRules.length > 0 ? new IpRuleSet(p.clientIpRules) : null;
    f.format = p.format;
    f.ruleCount = p.rules;
    f.skipped = p.skipped;
    f.errors = p.errors;
    f.version = `${p.serial !== undefined ? `serial ${p.serial}` : digest}`;
    f.loadedAt = Date.now();
    f.lastError = null;
    f.loads++;
    this.onChange(f, true);
    return true;
  }

  private fail(f: FeedState, message: string): boolean {
    f.lastError = message;
    f.failures++;
    this.onChange(f, false);
    return false;
  }

  /** The feed's bytes, or null when it has not changed since the last load. */
  private async fetchContent(f: FeedState): Promise<Uint8Array | null> {
    const c = f.config;
    if (c.path !== undefined) {
      const s = await stat(c.path);
      if (f.rules !== null && f.mtimeMs === s.mtimeMs && f.size === s.size) return null;
      const content = await readFile(c.path);
      f.mtimeMs = s.mtimeMs;
      f.size = s.size;
      return content;
    }
    const headers: Record<string, string> = {};
    if (f.rules !== null && f.etag) headers['if-none-match'] = f.etag;
    if (f.rules !== null && f.lastModified) headers['if-modified-since'] = f.lastModified;
    const response = await fetch(c.url!, { headers, signal: AbortSignal.timeout(60_000) });
    if (response.status === 304) return null;
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const content = new Uint8Array(await response.arrayBuffer());
    f.etag = response.headers.get('etag') ?? undefined;
    f.lastModified = response.headers.get('last-modified') ?? undefined;
    return content;
  }

  private parse(content: Uint8Array, c: FeedConfig): Promise<{ parsed?: ParsedFeed; error?: string }> {
    if (this.worker === null) {
      const worker = new Worker(new URL('./feed-parse-worker.js', import.meta.url));
      worker.on('message', (m: { id: number; parsed?: ParsedFeed; error?: string }) => {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
        // Idle, the thread must not keep the process alive; busy, it must (a CLI waits on it).
        if (this.waiting.size === 0) worker.unref();
      });
      worker.on('error', (err) => {
        for (const w of this.waiting.values()) w({ error: err.message });
        this.waiting.clear();
        this.worker = null;
      });
      worker.unref();
      this.worker = worker;
    }
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      // The bytes move to the worker (no copy); a file read may share a pooled buffer, so copy those.
      const owned =
        content.byteOffset === 0 && content.byteLength === content.buffer.byteLength ? content : content.slice();
      this.worker!.postMessage({ id, content: owned, format: c.format, zone: c.zone }, [owned.buffer as ArrayBuffer]);
    });
  }
}
