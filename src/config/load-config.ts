/**
 * Reading, overriding and validating the configuration. Without a file, dnsward runs on the
 * embedded default (an empty document: every key takes its schema default), with the
 * system's resolvers as upstreams.
 */
import { readFileSync } from 'node:fs';
import { type CST, Parser, parseDocument } from 'yaml';
import type { ZodError } from 'zod';
import { ConfigError } from './config-error.js';
import { systemUpstreams } from './resolv-conf.js';
import { type Config, configSchema } from './schema.js';

/** Settings given on the command line; they replace the file's values for the same keys. */
export interface ConfigOverrides {
  listen?: string[];
  upstreams?: string[];
  forwardZones?: string[];
  dataDir?: string;
  threads?: string;
  /** `--guard off|monitor|block`: Tunnel Guard's mode, over the file's guard.mode. */
  guardMode?: string;
  /** `--console ADDR[:PORT]|off`: the console's listener, over the file's console.listen. */
  console?: string;
}

export interface LoadedConfig {
  config: Config;
  source: string;
  /** Where the upstreams came from, for the start-up log: 'config', 'command line' or the resolv file's path. */
  upstreamSource: string;
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfigText(text, path);
}

/** Alias expansions allowed in one document (yaml's default, stated: a config needs few). */
const MAX_ALIAS_COUNT = 100;

/**
 * Collection nesting allowed in one document (a configuration uses fewer than ten levels). The
 * YAML composer recurses per level: thousands of levels exhaust the stack, and V8 compiling a
 * regular expression at the limit aborts the whole process instead of throwing.
 */
const MAX_NESTING = 64;

/** Whether the document nests collections deeper than MAX_NESTING, from yaml's CST parser, which does not recurse. */
function nestedTooDeep(text: string): boolean {
  const pending: [CST.Token | null | undefined, number][] = [];
  for (const token of new Parser().parse(text)) pending.push([token, 0]);
  while (pending.length > 0) {
    const [token, depth] = pending.pop()!;
    if (!token) continue;
    if (depth > MAX_NESTING) return true;
    if (token.type === 'document') pending.push([token.value, depth]);
    else if (token.type === 'flow-collection' || token.type === 'block-map' || token.type === 'block-seq') {
      for (const item of token.items)
        pending.push(['key' in item ? item.key : undefined, depth + 1], [item.value, depth + 1]);
    }
  }
  return false;
}

export function parseConfigText(text: string, source: string): unknown {
  if (nestedTooDeep(text))
    throw new ConfigError(source, [`YAML: collections nested deeper than ${MAX_NESTING} levels`]);
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map(
        (e) => `YAML syntax: ${e.message.split('\n')[0]}${e.linePos ? ` (line ${e.linePos[0].line})` : ''}`,
      ),
    );
  }
  let value: unknown;
  try {
    // Aliases that expand without end ("billion laughs") stop here, as a configuration error.
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new ConfigError(source, [`YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(source, ['the top level must be a mapping of keys']);
  return value;
}

export function validateConfig(raw: unknown, source: string): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, describeIssues(result.error), refusedZones(raw, result.error));
  return result.data;
}

/** The names of the zones entries an issue points into (a bad master file is one), as configured. */
function refusedZones(raw: unknown, error: ZodError): string[] {
  const zones = (raw as { zones?: unknown }).zones;
  if (!Array.isArray(zones)) return [];
  const names = new Set<string>();
  for (const issue of error.issues) {
    const [key, index] = issue.path;
    const entry: unknown = key === 'zones' && typeof index === 'number' ? zones[index] : undefined;
    const name = (entry as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string') names.add(name);
  }
  return [...names];
}

function describeIssues(error: ZodError): string[] {
  return describeIssueList(error.issues);
}

type Issue = ZodError['issues'][number];

/**
 * A union whose other forms failed only on the value's kind (a string where a mapping was
 * given) reports the one form the value took, with that form's own keys and expectations.
 */
function formTaken(issue: Issue): Issue[] | null {
  if (issue.code !== 'invalid_union' || !('errors' in issue)) return null;
  const taken = (issue.errors as Issue[][]).filter(
    (branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
  );
  if (taken.length !== 1) return null;
  return taken[0].map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
}

function describeIssueList(issues: Issue[]): string[] {
  return issues
    .flatMap((issue) => formTaken(issue) ?? [issue])
    .map((issue) => {
      const key =
        issue.path.length === 0
          ? '(top level)'
          : issue.path
              .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
              .join('.')
              .replace(/\.\[/g, '[');
      let message = issue.message;
      if (issue.code === 'unrecognized_keys') {
        message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
        if (issue.path.length === 0 && issue.keys.includes('workers'))
          message +=
            ' ("workers" processes were replaced by "threads": I/O threads in one process, sharing one Tunnel Guard)';
      } else if (issue.code === 'invalid_union')
        message = 'expected one of the documented forms (see docs/CONFIGURATION.md)';
      return `${key}: ${message.replace(/^Invalid input: /, '')}`;
    });
}

/** Applies command-line overrides to the raw document, then validates and fills upstreams. */
export function loadConfig(
  file: string | undefined,
  overrides: ConfigOverrides = {},
  resolvConf = '/etc/resolv.conf',
): LoadedConfig {
  const source = file ?? 'the embedded default configuration';
  const raw = (file ? readConfigFile(file) : {}) as Record<string, unknown>;
  const doc: Record<string, unknown> = { ...raw };
  let upstreamSource: LoadedConfig['upstreamSource'] = 'config';
  if (overrides.listen?.length) doc.listen = overrides.listen;
  if (overrides.upstreams?.length) {
    doc.upstreams = { ...((raw.upstreams as object) ?? {}), servers: overrides.upstreams };
    upstreamSource = 'command line';
  }
  if (overrides.forwardZones?.length) {
    const zones = overrides.forwardZones.map((spec) => {
      const eq = spec.indexOf('=');
      if (eq <= 0)
        throw new ConfigError('the command line', [
          `--forward-zone "${spec}": expected ZONE=ADDR[:PORT][,ADDR[:PORT]...]`,
        ]);
      return { zone: spec.slice(0, eq), servers: spec.slice(eq + 1).split(',') };
    });
    doc.forwardZones = [...((raw.forwardZones as unknown[]) ?? []), ...zones];
  }
  if (overrides.dataDir) doc.dataDir = overrides.dataDir;
  if (overrides.threads) doc.threads = overrides.threads === 'auto' ? 'auto' : Number(overrides.threads);
  if (overrides.guardMode) doc.guard = { ...((doc.guard as object | undefined) ?? {}), mode: overrides.guardMode };
  if (overrides.console)
    doc.console = {
      ...((doc.console as object | undefined) ?? {}),
      listen: overrides.console === 'off' ? null : overrides.console,
    };
  const config = validateConfig(
    doc,
    overrides.listen || overrides.upstreams ? `${source} with command-line overrides` : source,
  );
  if (config.upstreams.servers.length === 0) {
    const own = config.listen.map((l) => l.address.host);
    const system = systemUpstreams(own, resolvConf);
    if (system.length === 0) {
      throw new ConfigError(source, [
        `upstreams.servers: expected at least one upstream; none is configured and ${resolvConf} lists no usable nameserver (loopback and dnsward's own addresses are left out). Use --upstream ADDR[:PORT].`,
      ]);
    }
    config.upstreams.servers = system.map((host) => ({
      address: { host, port: 53, family: host.includes(':') ? 6 : 4 },
      protocol: 'udp' as const,
      path: '/dns-query',
      tls: undefined,
    }));
    upstreamSource = resolvConf;
  }
  return { config, source, upstreamSource };
}
