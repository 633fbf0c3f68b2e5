/**
 * The Redis connections of a cluster node, from `cluster.redis`: one server, Sentinel (the
 * master its sentinels name, followed across failovers) or Redis Cluster, with AUTH and TLS.
 *
 * Settings chosen so that Redis never holds up a node: commands fail at once while the
 * connection is down (no offline queue: nothing piles up in memory) and fail after
 * `commandTimeout` when Redis is slow; reconnects back off to 2 s and never stop.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';

export type ClusterConfig = NonNullable<Config['cluster']>;
export type RedisConnection = Redis | Cluster;

const CONNECT_TIMEOUT_MS = 2000;
const MAX_BACKOFF_MS = 2000;

function retry(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 100 * attempt);
}

/** Options every connection shares (auth, TLS, timeouts). */
function baseOptions(c: ClusterConfig): RedisOptions {
  const r = c.redis;
  const tls =
    r.tls === undefined && !(r.url?.startsWith('rediss:') ?? false)
      ? undefined
      : { ca: r.tls?.ca, cert: r.tls?.cert, key: r.tls?.key, servername: r.tls?.serverName };
  return {
    username: r.username,
    password: r.passwordFile,
    db: r.db,
    tls,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: c.commandTimeout,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: retry,
    lazyConnect: true,
    // The subscriber subscribes itself at each 'ready' (cluster-sync.ts), so it knows when.
    autoResubscribe: false,
  };
}

/** A new connection to the configured Redis (not yet connected: call connect()). */
export function connectRedis(c: ClusterConfig, role: string): RedisConnection {
  const r = c.redis;
  const options = { ...baseOptions(c), connectionName: `dnsward-${c.nodeName}-${role}` };
  if (r.nodes !== undefined) {
    return new Cluster(r.nodes, {
      redisOptions: options,
      enableOfflineQueue: false,
      lazyConnect: true,
      clusterRetryStrategy: retry,
    });
  }
  if (r.sentinels !== undefined) {
    return new Redis({
      ...options,
      sentinels: r.sentinels,
      name: r.name,
      sentinelPassword: r.sentinelPasswordFile,
      sentinelRetryStrategy: retry,
      enableTLSForSentinelMode: options.tls !== undefined,
      sentinelTLS: options.tls,
    });
  }
  if (r.url !== undefined) {
    // The URL gives host, port, db (and may give a password); the files and TLS settings apply over it.
    const u = new URL(r.url);
    const db = Number(u.pathname.slice(1) || '0');
    return new Redis({
      ...options,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || '6379'),
      db: r.db !== 0 ? r.db : Number.isInteger(db) ? db : 0,
      username: options.username ?? (u.username === '' ? undefined : decodeURIComponent(u.username)),
      password: options.password ?? (u.password === '' ? undefined : decodeURIComponent(u.password)),
    });
  }
  return new Redis({ ...options, host: r.host!.host, port: r.host!.port });
}

/** A short, secret-free description of where Redis is, for logs. */
export function describeRedis(c: ClusterConfig): string {
  const r = c.redis;
  if (r.nodes !== undefined) return `cluster ${r.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (r.sentinels !== undefined)
    return `sentinel ${r.name} via ${r.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (r.url !== undefined) return r.url.replace(/\/\/[^@/]*@/, '//***@');
  return `${r.host!.host}:${r.host!.port}`;
}
