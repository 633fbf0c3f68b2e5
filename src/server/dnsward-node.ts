/**
 * The composition root of one dnsward process: the DNS server, and the
 * console and metrics listeners that read it. It only wires them together: each of those gets
 * the server as the narrow backend it declares (ConsoleBackend, MetricsBackend), so neither
 * imports the server and the server imports neither.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ConsoleServer } from '../console/console-server.js';
import { MetricsServer } from '../metrics/metrics-server.js';
import { buildRegistry } from '../metrics/prometheus-metrics.js';
import { formatHostPort } from '../util/address.js';
import { DnswardServer } from './dnsward-server.js';

export class DnswardNode {
  readonly server: DnswardServer;
  metricsServer: MetricsServer | null = null;
  consoleServer: ConsoleServer | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.server = new DnswardServer(config, log);
  }

  async start(): Promise<void> {
    const config = this.config;
    await this.server.start();
    if (config.metrics.listen !== null) {
      this.metricsServer = new MetricsServer(config.metrics.listen, buildRegistry(this.server), config.metrics, () =>
        this.server.refresh(),
      );
      await this.metricsServer.start();
    }
    if (config.console.listen !== null) {
      const c = config.console;
      this.consoleServer = new ConsoleServer(
        this.server,
        {
          listen: c.listen!,
          tls: c.tls,
          sessionTimeoutMs: c.sessionTimeout,
          usersPath: join(config.dataDir, 'dnsward.db'),
          loginLimits: { perAddress: 5, perUser: 10, windowMs: 15 * 60_000 },
          allowedHosts: c.allowedHosts,
          limits: {
            maxConnections: c.maxConnections,
            maxConnectionsPerAddress: c.maxConnectionsPerAddress,
            idleTimeoutMs: c.idleTimeout,
            requestTimeoutMs: c.requestTimeout,
          },
        },
        this.log,
      );
      this.server.events.addSink(this.consoleServer.fanout);
      await this.bootstrapAdmin(this.consoleServer);
      await this.consoleServer.start();
      this.log.info(
        {
          console: `${c.tls ? 'https' : 'http'}://${formatHostPort({ host: c.listen!.host, port: this.consoleServer.boundPort })}/`,
          users: this.consoleServer.users.count(),
        },
        'console listening',
      );
    }
  }

  /** The readers close first (no scrape or page sees a half-stopped server), then the server drains and stops. */
  async stop(): Promise<void> {
    await this.metricsServer?.stop();
    await this.consoleServer?.stop();
    await this.server.stop();
  }

  /**
   * The first admin: DNSWARD_ADMIN_PASSWORD creates user "admin" when no admin exists yet
   * (there is no default password; `dnsward user add` is the other way).
   */
  private async bootstrapAdmin(console: ConsoleServer): Promise<void> {
    const password = process.env.DNSWARD_ADMIN_PASSWORD;
    if (password === undefined || password === '' || console.users.hasAdmin()) return;
    await console.users.set('admin', password, 'admin');
    this.server.auditChange('DNSWARD_ADMIN_PASSWORD', 'user-set', 'admin', { role: 'admin' });
    this.log.info('console user "admin" created from DNSWARD_ADMIN_PASSWORD');
  }
}
