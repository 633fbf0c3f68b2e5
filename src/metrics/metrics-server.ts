/** `GET /metrics` in the Prometheus text format, on its own listener (`metrics.listen`). */
import Fastify, { type FastifyInstance } from 'fastify';
import type { MetricsSource } from './prometheus-metrics.js';
import type { HostPort } from '../util/address.js';

export class MetricsServer {
  private app: FastifyInstance | null = null;
  boundPort = 0;

  constructor(private readonly address: HostPort, private readonly registry: MetricsSource) {}

  async start(): Promise<void> {
    const app = Fastify({ logger: false });
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', this.registry.contentType);
      return this.registry.metrics();
    });
    await app.listen({ host: this.address.host, port: this.address.port });
    const bound = app.server.address();
    this.boundPort = typeof bound === 'object' && bound !== null ? bound.port : this.address.port;
    this.app = app;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }
}
