/** Starts an in-process dnsward from configuration text, as an operator would write it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import type { ConsoleServer } from '../../src/console/console-server.js';
import type { MetricsServer } from '../../src/metrics/metrics-server.js';
import { DnswardNode } from '../../src/server/dnsward-node.js';
import type { DnswardServer } from '../../src/server/dnsward-server.js';
import { freePort } from './ports.js';

export interface RunningDnsward {
  server: DnswardServer;
  /** The console and metrics listeners, when the config turns them on. */
  consoleServer: ConsoleServer | null;
  metricsServer: MetricsServer | null;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * `@PORT@` in the text is replaced by a free loopback port for UDP and TCP. Without a
 * `dataDir` in the text, each dnsward gets a fresh temporary one (its own learned state).
 */
export async function startDnsward(configText: string): Promise<RunningDnsward> {
  const port = await freePort();
  const text = configText.replaceAll('@PORT@', String(port));
  const raw = (parseConfigText(text, 'test config') ?? {}) as Record<string, unknown>;
  raw.dataDir ??= mkdtempSync(join(tmpdir(), 'dnsward-data-'));
  // In-process tests read the pipeline and its stages directly, so the data plane runs inline
  // unless the text asks for I/O threads; the threaded plane has its own tests (test/plane) and
  // every CLI test runs it (the default, threads: auto).
  raw.threads ??= 0;
  // I/O threads log through their own logger, at the configured level: quiet in tests.
  raw.log ??= { level: 'silent' };
  // The console is on by default (127.0.0.1:8053); tests that do not ask for it leave it off.
  raw.console ??= { listen: null };
  const config = validateConfig(raw, 'test config');
  const node = new DnswardNode(config, pino({ level: 'silent' }));
  await node.start();
  return {
    server: node.server,
    consoleServer: node.consoleServer,
    metricsServer: node.metricsServer,
    port,
    dataDir: config.dataDir,
    stop: () => node.stop(),
  };
}
