/**
 * `dnsward queries` and `dnsward events`: search the query log and the security-event history
 * in `<dataDir>/querylog.db`. They open the database read-only, so they work whether or not
 * dnsward is running, and never slow it (WAL readers do not block the writer).
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseDuration } from '../../config/units.js';
import { qtypeName, RcodeName } from '../../dns/wire.js';
import { type EventFilter, type QueryFilter, QueryLogStore } from '../../querylog/query-log-store.js';
import { SECURITY_EVENT_TYPES } from '../../events/security-event.js';
import { ResponseType } from '../../pipeline/query-context.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';
import { LOCATION_OPTIONS, locateDataDir } from '../server-location.js';

const common = {
  ...LOCATION_OPTIONS,
  since: { type: 'string' },
  until: { type: 'string' },
  client: { type: 'string' },
  domain: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** "15m" (that long ago) or an ISO 8601 time, in ms since the epoch. */
export function parseTimeArg(option: string, text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new UsageError(
      `--${option} must be a duration back from now (such as 15m, 2h, 7d) or an ISO 8601 time, not "${text}"`,
    );
  return at;
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return 50;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new UsageError(`--limit must be a whole number from 1 to 10000, not "${text}"`);
  return n;
}

/** A filter value from a fixed list, refused with the list when misspelt (a silent empty result reads as "nothing happened"). */
function oneOf(option: string, text: string | undefined, allowed: readonly string[]): string | undefined {
  if (text === undefined || allowed.includes(text)) return text;
  throw new UsageError(`--${option} must be one of ${allowed.join(', ')}; not "${text}"`);
}

function clientArg(text: string | undefined): string | undefined {
  if (text === undefined || isIP(text) !== 0) return text;
  throw new UsageError(`--client must be an IPv4 or IPv6 address, not "${text}"`);
}

function openStore(dataDir: string): QueryLogStore {
  const path = join(dataDir, 'querylog.db');
  if (!existsSync(path))
    throw new UsageError(
      `no query log at ${path} (has dnsward run with data directory ${dataDir}? Give --config or --data-dir)`,
    );
  return new QueryLogStore(path, true);
}

export const queriesCommand: Command = {
  name: 'queries',
  locates: true,
  summary: 'search the query log (by time, client, domain or action)',
  help: `Usage: dnsward queries [--client IP] [--domain NAME] [--action TYPE]
                        [--since WHEN] [--until WHEN] [--limit N] [--json] [-c FILE] [--data-dir DIR]

Prints logged queries, newest first: time, client, transport, type, name, what
dnsward did (answered, cached, stale, blocked, quarantined, error, formerr, …),
the response code, latency, upstream and reason.

  --client IP      one client address
  --domain NAME    a registered domain (everything under it) or an exact name
  --action TYPE    one response type: ${Object.values(ResponseType).join(', ')}
  --since WHEN     a duration back from now (15m, 2h, 7d) or an ISO 8601 time
  --until WHEN     the same
  --limit N        at most N rows (default 50, at most 10000)
  --json           one JSON object per line

Reads querylog.db in the server's data directory read-only; dnsward may be running.
What is logged is set by queryLog.mode (all, blocked, off).`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...common, action: { type: 'string' } });
    const filter: QueryFilter = {
      since: parseTimeArg('since', values.since),
      until: parseTimeArg('until', values.until),
      client: clientArg(values.client),
      domain: values.domain,
      type: oneOf('action', values.action, Object.values(ResponseType)),
      limit: parseLimit(values.limit),
    };
    const store = openStore(locateDataDir(values));
    try {
      for (const q of store.queries(filter)) {
        if (values.json) console.log(JSON.stringify(q));
        else
          console.log(
            [
              new Date(q.t).toISOString(),
              q.client,
              q.transport,
              qtypeName(q.qtype),
              q.qname,
              q.type,
              RcodeName[q.rcode] ?? (q.rcode === 255 ? '-' : `RCODE${q.rcode}`),
              `${q.latencyMs.toFixed(2)}ms`,
              q.upstream || '-',
              q.reason,
            ].join('  '),
          );
      }
    } finally {
      store.close();
    }
    return 0;
  },
};

export const eventsCommand: Command = {
  name: 'events',
  locates: true,
  summary: 'search security events (tunnels, blocks, operator changes) with their stage traces',
  help: `Usage: dnsward events [--type TYPE] [--client IP] [--domain DOMAIN] [--incident ID]
                       [--since WHEN] [--until WHEN] [--limit N] [--json] [-c FILE] [--data-dir DIR]

Prints security events, newest first, each with its reasons and every stage's
score and evidence. Types: ${SECURITY_EVENT_TYPES.join(', ')}.
docs/EVENTS.md describes every field.

  --type TYPE      one event type
  --client IP      one client address
  --domain DOMAIN  one registered domain
  --incident ID    one incident (TG-…)
  --since/--until  a duration back from now (15m, 2h, 7d) or an ISO 8601 time
  --limit N        at most N events (default 50, at most 10000)
  --json           one JSON event per line (the same object the SIEM sinks get)

Reads querylog.db in the server's data directory read-only; dnsward may be running.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...common, type: { type: 'string' }, incident: { type: 'string' } });
    const filter: EventFilter = {
      since: parseTimeArg('since', values.since),
      until: parseTimeArg('until', values.until),
      client: clientArg(values.client),
      domain: values.domain,
      type: oneOf('type', values.type, SECURITY_EVENT_TYPES),
      incident: values.incident,
      limit: parseLimit(values.limit),
    };
    const store = openStore(locateDataDir(values));
    try {
      for (const e of store.events(filter)) {
        if (values.json) {
          console.log(JSON.stringify(e));
          continue;
        }
        const who = [
          e.client && `client ${e.client}`,
          e.domain && `domain ${e.domain}`,
          e.incident && `incident ${e.incident}`,
          e.operator && `by ${e.operator}`,
        ]
          .filter(Boolean)
          .join(', ');
        console.log(
          `${e.time}  ${e.type} (severity ${e.severity})${who ? `  ${who}` : ''}${e.leakedBytes !== undefined ? `  ~${Math.round(e.leakedBytes)} B leaked` : ''}${e.enforced === false ? '  [not enforced: monitor]' : ''}`,
        );
        for (const r of e.reasons) console.log(`    why: ${r}`);
        for (const s of e.stages)
          console.log(
            `      ${s.name.padEnd(8)} ${s.score.toFixed(2)}  ${Object.entries(s.evidence)
              .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`)
              .join(' ')}`,
          );
        if (e.samples?.length) console.log(`    samples: ${e.samples.join(' ')}`);
      }
    } finally {
      store.close();
    }
    return 0;
  },
};
