/** Starts an in-process dnsward from configuration text, as an operator would write it. */
import { pino } from 'pino';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { DnswardServer } from '../../src/server/dnsward-server.js';
import { freePort } from './ports.js';

export interface RunningDnsward {
  server: DnswardServer;
  port: number;
  stop(): Promise<void>;
}

/** `@PORT@` in the text is replaced by a free loopback port for UDP and TCP. */
export async function startDnsward(configText: string): Promise<RunningDnsward> {
  const port = await freePort();
  const text = configText.replaceAll('@PORT@', String(port));
  const config = validateConfig(parseConfigText(text, 'test config'), 'test config');
  const server = new DnswardServer(config, pino({ level: 'silent' }));
  await server.start();
  return { server, port, stop: () => server.stop() };
}
