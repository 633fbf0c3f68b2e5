/**
 * `dnsward serve`: one process. Its main thread runs the control plane (config, console,
 * control socket, metrics) and Tunnel Guard's brain; its I/O threads (`threads`) answer DNS.
 */
import { pino, type Logger } from 'pino';
import { type ConfigOverrides, loadConfig } from '../../config/load-config.js';
import type { Config } from '../../config/schema.js';
import { configWarnings } from '../../config/config-warnings.js';
import { ConfigError } from '../../config/config-error.js';
import { ControlServer } from '../../control/control-server.js';
import { DnswardNode } from '../../server/dnsward-node.js';
import { ioThreadCount } from '../../server/dnsward-server.js';
import { formatHostPort } from '../../util/address.js';
import { type Command, parseCommandArgs } from '../args.js';
import { removePidFile, writePidFile } from '../pid-file.js';
import { configFile, dataDirOverride } from '../server-location.js';
import { startBanner } from '../start-banner.js';
import { packageVersion } from '../../util/package-version.js';
import {
  CONTROL_CONNECTIONS,
  fitConfigToDescriptors,
  openDescriptorCount,
  openFileLimit,
} from '../../ops/descriptor-budget.js';

const options = {
  config: { type: 'string', short: 'c' },
  listen: { type: 'string', short: 'l', multiple: true },
  upstream: { type: 'string', short: 'u', multiple: true },
  'forward-zone': { type: 'string', multiple: true },
  'data-dir': { type: 'string' },
  threads: { type: 'string' },
  guard: { type: 'string' },
  console: { type: 'string' },
} as const;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the DNS service',
  help: `Usage: dnsward serve [options]

Runs dnsward. The configuration is --config FILE, else $DNSWARD_CONFIG, else
/etc/dnsward/dnsward.yaml when it exists (then the data directory defaults to
/var/lib/dnsward). Without any of them or flags it listens on 127.0.0.1:5353 (UDP and
TCP) and forwards to the nameservers in /etc/resolv.conf, leaving out loopback
addresses and its own, which would loop back to it.

Options:
  -c, --config FILE            YAML configuration file (see docs/CONFIGURATION.md)
  -l, --listen ADDR:PORT       listen on this address, UDP and TCP (repeatable;
                               replaces the file's listen list); IPv6 as [::1]:53
  -u, --upstream ADDR[:PORT]   forward to this resolver (repeatable; replaces the
                               file's upstreams.servers); port defaults to 53
      --forward-zone ZONE=ADDR[:PORT][,ADDR[:PORT]...]
                               send ZONE and its subdomains to these resolvers
                               (repeatable)
      --data-dir DIR           state directory (default $DNSWARD_DATA_DIR, else the
                               file's dataDir, else ./var), made owner-only;
                               its dnsward.pid is a lock: one dnsward per directory
      --threads N|auto         I/O threads answering DNS (default auto: one per core
                               but one, at least one; 0 runs everything on one
                               thread)
      --guard off|monitor|block
                               Tunnel Guard's mode (default block; guard.mode in
                               the file): block cuts tunnels, monitor only reports
      --console ADDR[:PORT]|off
                               the web console's listener (default 127.0.0.1:8053;
                               console.listen in the file). Log in needs a user:
                               'dnsward user add NAME', or DNSWARD_ADMIN_PASSWORD
                               set when no user exists creates "admin"
  -h, --help                   show this help

Signals: SIGHUP reloads the configuration (a bad one is refused, the running one
kept); SIGTERM/SIGINT stop accepting, drain queries in flight, and exit;
SIGUSR1 logs a counters snapshot.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, options);
    const overrides: ConfigOverrides = {
      listen: values.listen as string[] | undefined,
      upstreams: values.upstream as string[] | undefined,
      forwardZones: values['forward-zone'] as string[] | undefined,
      dataDir: dataDirOverride(values, configFile(values)),
      threads: values.threads as string | undefined,
      guardMode: values.guard as string | undefined,
      console: values.console as string | undefined,
    };
    const file = configFile(values);
    // Connection caps are cut to fit the descriptor limit, at start and at every reload, so that
    // idle management connections cannot take the descriptors DNS needs.
    const limit = openFileLimit();
    const alreadyOpen = openDescriptorCount();
    let budgetNote = '';
    let controlConnections = CONTROL_CONNECTIONS;
    const load = () => {
      const loaded = loadConfig(file, overrides);
      if (limit === null) return loaded;
      const fitted = fitConfigToDescriptors(loaded.config, limit, alreadyOpen, ioThreadCount(loaded.config.threads));
      budgetNote = fitted.reduced.join('; ');
      controlConnections = fitted.controlConnections;
      return { ...loaded, config: fitted.config };
    };
    const loaded = load();
    const log = pino({ level: loaded.config.log.level, base: { pid: process.pid } });
    for (const warning of configWarnings(loaded.config)) log.warn({ source: loaded.source }, warning);
    if (budgetNote !== '')
      log.warn(
        { openFileLimit: limit, reduced: budgetNote },
        'connection caps cut to fit the open-file limit (raise it, e.g. LimitNOFILE in the systemd unit, to keep the configured caps)',
      );
    return runServer(loaded.config, load, log, loaded.upstreamSource, controlConnections, file);
  },
};

async function runServer(
  config: Config,
  load: () => { config: Config },
  log: Logger,
  upstreamSource: string,
  controlConnections: number,
  file: string | undefined,
): Promise<number> {
  // The data directory is claimed before anything in it is opened.
  writePidFile(config.dataDir);
  const node = new DnswardNode(config, log);
  const server = node.server;
  try {
    await node.start();
  } catch (err) {
    // The process exits with the error; the next start must not find the directory claimed.
    removePidFile(config.dataDir);
    throw err;
  }
  // The operator's control socket.
  const control = new ControlServer(config.dataDir, server, log, {
    maxConnections: controlConnections,
    idleTimeoutMs: 30_000,
  });
  await control.start();
  log.info(
    {
      listen: server.boundAddresses(),
      upstreams: config.upstreams.servers.map((s) => `${formatHostPort(s.address)}/${s.protocol}`),
      upstreamSource,
      forwardZones: config.forwardZones.map((z) => z.zone),
      dataDir: config.dataDir,
      ioThreads: server.threads,
    },
    'dnsward started',
  );
  const consoleServer = node.consoleServer;
  const c = config.console;
  process.stderr.write(
    `${startBanner({
      version: packageVersion(),
      bound: server.boundAddresses(),
      upstreams: config.upstreams.servers.map((s) => `${formatHostPort(s.address)}/${s.protocol}`),
      upstreamSource,
      threads: server.threads,
      dataDir: config.dataDir,
      configFile: file,
      console:
        consoleServer === null || c.listen === null
          ? null
          : {
              url: `${c.tls ? 'https' : 'http'}://${formatHostPort({ host: c.listen.host, port: consoleServer.boundPort })}/`,
              users: consoleServer.users.count(),
            },
      metrics:
        node.metricsServer === null || config.metrics.listen === null
          ? null
          : `http://${formatHostPort({ host: config.metrics.listen.host, port: node.metricsServer.boundPort })}/metrics`,
      guardMode: config.guard.mode,
      warnings: configWarnings(config),
    })}\n`,
  );

  let reloading = Promise.resolve();
  const reload = () => {
    reloading = reloading.then(async () => {
      let next: Config;
      try {
        next = load().config;
        for (const warning of configWarnings(next)) log.warn(warning);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'reload refused: keeping the running configuration');
        server.noteReload(false);
        if (err instanceof ConfigError) for (const zone of err.refusedZones) server.countZoneReload(zone, 'refused');
        return;
      }
      try {
        await server.reload(next);
        log.info('configuration reloaded');
        server.noteReload(true);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'reload applied only in part');
        server.noteReload(false);
      }
    });
  };

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, inFlight: server.inFlight }, 'shutting down: draining queries in flight');
      await control.stop();
      await node.stop();
      removePidFile(config.dataDir);
      log.info({ counters: server.snapshot() }, 'dnsward stopped');
      resolve(0);
    };
    process.on('SIGHUP', reload);
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGUSR1', () => log.info({ counters: server.snapshot() }, 'counters'));
  });
}
