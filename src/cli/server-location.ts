/**
 * How every subcommand finds the dnsward it speaks about, the same way `serve` finds its
 * configuration, so that `dnsward blocks` or `dnsward user add` run from any directory reach
 * the running service and never create a database it does not read.
 *
 * Configuration: `--config FILE`, else `$DNSWARD_CONFIG`, else /etc/dnsward/dnsward.yaml when it
 * exists, else none (the embedded default).
 * Data directory: `--data-dir DIR`, else `$DNSWARD_DATA_DIR`, else the configuration's `dataDir`,
 * else /var/lib/dnsward when the configuration is the system one, else ./var.
 */
import { existsSync } from 'node:fs';
import { readConfigFile } from '../config/load-config.js';

export const SYSTEM_CONFIG = '/etc/dnsward/dnsward.yaml';
export const SYSTEM_DATA_DIR = '/var/lib/dnsward';
export const LOCAL_DATA_DIR = './var';

/** The options every operator command takes to find the server. */
export const LOCATION_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
} as const;

export const LOCATION_HELP = `  -c, --config FILE    the server's configuration (default $DNSWARD_CONFIG, else
                       ${SYSTEM_CONFIG} when it exists)
      --data-dir DIR   its data directory (default $DNSWARD_DATA_DIR, else the
                       configuration's dataDir, else ${SYSTEM_DATA_DIR} with the
                       system configuration, else ${LOCAL_DATA_DIR})`;

export interface LocationFlags {
  config?: string | boolean | (string | boolean)[];
  'data-dir'?: string | boolean | (string | boolean)[];
}

/** The configuration file in force, or undefined for the embedded default. */
export function configFile(
  flags: LocationFlags,
  env: NodeJS.ProcessEnv = process.env,
  systemConfig = SYSTEM_CONFIG,
): string | undefined {
  if (typeof flags.config === 'string') return flags.config;
  if (env.DNSWARD_CONFIG !== undefined && env.DNSWARD_CONFIG !== '') return env.DNSWARD_CONFIG;
  return existsSync(systemConfig) ? systemConfig : undefined;
}

/** The data directory an explicit flag or the environment names, else the default for this configuration file. */
export function dataDirOverride(
  flags: LocationFlags,
  config: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  systemConfig = SYSTEM_CONFIG,
): string | undefined {
  if (typeof flags['data-dir'] === 'string') return flags['data-dir'];
  if (env.DNSWARD_DATA_DIR !== undefined && env.DNSWARD_DATA_DIR !== '') return env.DNSWARD_DATA_DIR;
  if (config !== undefined && config === systemConfig && configuredDataDir(config) === undefined)
    return SYSTEM_DATA_DIR;
  return undefined;
}

/** The data directory of the dnsward these flags designate. */
export function locateDataDir(
  flags: LocationFlags,
  env: NodeJS.ProcessEnv = process.env,
  systemConfig = SYSTEM_CONFIG,
): string {
  const config = configFile(flags, env, systemConfig);
  const explicit = dataDirOverride(flags, undefined, env, systemConfig);
  if (explicit !== undefined) return explicit;
  // The file is read once: its dataDir, else the default for where it lives.
  const fromFile = config === undefined ? undefined : configuredDataDir(config);
  return fromFile ?? (config !== undefined && config === systemConfig ? SYSTEM_DATA_DIR : LOCAL_DATA_DIR);
}

function configuredDataDir(file: string): string | undefined {
  const doc = readConfigFile(file);
  const value = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>).dataDir : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Whether anything (a flag, the environment, a configuration file) names the server, rather than the ./var fallback. */
export function locationGiven(
  flags: LocationFlags,
  env: NodeJS.ProcessEnv = process.env,
  systemConfig = SYSTEM_CONFIG,
): boolean {
  return (
    configFile(flags, env, systemConfig) !== undefined ||
    dataDirOverride(flags, undefined, env, systemConfig) !== undefined
  );
}
