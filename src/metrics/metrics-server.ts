/**
 * `GET /metrics` in the Prometheus text format, on its own listener (`metrics.listen`), capped
 * in connections (in total and per address) with idle connections destroyed: a scraper needs
 * one or two, and idle ones must not hold descriptors DNS needs.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { formatHostPort, type HostPort } from '../util/address.js';
import { capConnections, type ConnectionCounters } from '../util/connection-caps.js';
import { listenOrExplain } from '../util/listen.js';
import type { MetricsSource } from './prometheus-metrics.js';

export interface MetricsListenerLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Milliseconds. */
  idleTimeout: number;
}

const DEFAULT_LIMITS: MetricsListenerLimits = { maxConnections: 16, maxConnectionsPerAddress: 8, idleTimeout: 30_000 };
const HEADERS_TIMEOUT_MS = 10_000;

export class MetricsServer {
  private app: FastifyInstance | null = null;
  boundPort = 0;
  counters: ConnectionCounters = { refused: 0, idleClosed: 0, evicted: 0 };

  /** `beforeScrape`: brings the counters up to date (the I/O threads report now, not at their next half second). */
  constructor(
    private readonly address: HostPort,
    private readonly registry: MetricsSource,
    private readonly limits: MetricsListenerLimits = DEFAULT_LIMITS,
    private readonly beforeScrape: () => Promise<void> = async () => {},
  ) {}

  async start(): Promise<void> {
    const l = this.limits;
    const app = Fastify({
      logger: false,
      connectionTimeout: l.idleTimeout,
      keepAliveTimeout: l.idleTimeout,
      requestTimeout: Math.max(l.idleTimeout, HEADERS_TIMEOUT_MS),
      http: { connectionsCheckingInterval: 1000 },
    });
    app.server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.counters = capConnections(app.server, {
      maxConnections: l.maxConnections,
      maxPerAddress: l.maxConnectionsPerAddress,
      idleTimeoutMs: l.idleTimeout,
    });
    app.get('/metrics', async (_request, reply) => {
      await this.beforeScrape();
      reply.header('content-type', this.registry.contentType);
      return this.registry.metrics();
    });
    await listenOrExplain(
      {
        listen: async () => {
          await app.listen({ host: this.address.host, port: this.address.port });
        },
      },
      formatHostPort(this.address),
      'metrics',
    );
    const bound = app.server.address();
    this.boundPort = typeof bound === 'object' && bound !== null ? bound.port : this.address.port;
    this.app = app;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }
}
