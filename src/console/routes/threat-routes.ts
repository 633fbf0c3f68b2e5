/**
 * The Threats page's list and its export: GET /api/threats filters server-side in the events
 * store (view or event types, minimum severity, client, time window); GET /api/threats/export
 * takes the same filters and answers a CSV or JSON download. Every event carries its MITRE
 * ATT&CK techniques (events/attack-techniques.ts).
 *
 * `scope=fleet` (a cluster node only) reads the same filters from the fleet's events in Redis
 * (cluster/fleet-events.ts) instead of this node's store: every node's threats, each naming its
 * node. When Redis cannot be read the answer is 503 "fleet view unavailable"; DNS is untouched.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { withAttack } from '../../events/attack-techniques.js';
import { SECURITY_EVENT_TYPES, type SecurityEvent } from '../../events/security-event.js';
import type { EventFilter } from '../../querylog/query-log-store.js';
import { type ConsoleContext, fail } from '../console-context.js';
import { TIME_RANGE_PROPERTIES, timeRange } from './time-filter.js';

/** Data carried in DNS names: what Tunnel Guard reports. */
export const TUNNEL_TYPES = ['tunnel_detected', 'domain_blocked', 'query_blocked'];
/** Response policy: feeds (ads, malware, …), the DoH canary and DoH resolvers. Shown apart from tunnels. */
export const POLICY_TYPES = ['policy_blocked'];
export const THREAT_TYPES = [...TUNNEL_TYPES, ...POLICY_TYPES];
const VIEWS: Record<string, string[]> = { tunnels: TUNNEL_TYPES, policy: POLICY_TYPES, all: THREAT_TYPES };
const EXPORT_LIMIT = 10_000;

export interface ThreatsQuery {
  view?: 'tunnels' | 'policy' | 'all';
  type?: string;
  severity?: number;
  client?: string;
  from?: string;
  to?: string;
  limit?: number;
  format?: 'csv' | 'json';
  scope?: 'node' | 'fleet';
}

const filterProperties = {
  view: {
    type: 'string',
    enum: Object.keys(VIEWS),
    default: 'all',
    description: 'tunnels (Tunnel Guard), policy (feeds, ads, the DoH canary) or all; `type` overrides it',
  },
  type: { type: 'string', maxLength: 400, description: 'event types, comma-separated (any of docs/EVENTS.md)' },
  severity: { type: 'integer', minimum: 1, maximum: 10, description: 'at least this severity' },
  client: { type: 'string', maxLength: 64, description: 'one client address' },
  ...TIME_RANGE_PROPERTIES,
  scope: {
    type: 'string',
    enum: ['node', 'fleet'],
    default: 'node',
    description:
      "node: this node's events; fleet (cluster nodes): every node's, from Redis (503 when Redis cannot be read)",
  },
} as const;

/** The store's filter from the query, or an error to answer 400 with. */
export function threatFilter(p: ThreatsQuery, limit: number, now = Date.now()): EventFilter | string {
  const f: EventFilter = { limit, type: VIEWS[p.view ?? 'all'] };
  if (p.type !== undefined && p.type.trim() !== '') {
    const types = p.type
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const unknown = types.find((t) => !(SECURITY_EVENT_TYPES as readonly string[]).includes(t));
    if (unknown !== undefined) return `unknown event type "${unknown}" (types: ${SECURITY_EVENT_TYPES.join(', ')})`;
    f.type = types;
  }
  if (p.severity !== undefined) f.minSeverity = p.severity;
  if (p.client) f.client = p.client;
  const range = timeRange(p, now);
  if (typeof range === 'string') return range;
  Object.assign(f, range);
  return f;
}

const CSV_COLUMNS = [
  'time',
  'type',
  'severity',
  'client',
  'domain',
  'qname',
  'action',
  'enforced',
  'incident',
  'leakedBytes',
  'attack',
  'policy',
  'reason',
  'node',
  'id',
] as const;

/**
 * One CSV field, RFC 4180: always quoted, quotes doubled. Text an attacker chose (a query name, a
 * rule) that a spreadsheet would run as a formula gets a leading apostrophe.
 */
export function csvField(value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null) return '""';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function threatsCsv(events: readonly SecurityEvent[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of events) {
    const a = withAttack(e);
    const p = e.policy;
    const row: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | undefined> = {
      time: e.time,
      type: e.type,
      severity: e.severity,
      client: e.client,
      domain: e.domain,
      qname: e.qname,
      action: e.action,
      enforced: e.enforced,
      incident: e.incident,
      leakedBytes: e.leakedBytes,
      attack: a.attack.map((t) => t.id).join(' '),
      policy:
        p === undefined ? undefined : `${p.group}/${p.feed}@${p.version} ${p.category}: ${p.rule} (line ${p.line})`,
      reason: e.reasons.join('; '),
      node: e.node,
      id: e.id,
    };
    lines.push(CSV_COLUMNS.map((k) => csvField(row[k])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function threatRoutes(app: FastifyInstance, c: ConsoleContext): void {
  const log = c.server.queryLog;
  /** The fleet scope's answer besides the events: what was scanned and skipped. */
  type Fleet = { scanned: number; dropped: number; truncated: boolean };
  const search = async (
    query: ThreatsQuery,
    limit: number,
    reply: FastifyReply,
  ): Promise<{ events: SecurityEvent[]; fleet?: Fleet } | undefined> => {
    const f = threatFilter(query, limit);
    if (typeof f === 'string') return void fail(reply, 400, f);
    if (query.scope !== 'fleet') return { events: await log.events(f) };
    const fleet = c.server.fleet;
    if (fleet === null) return void fail(reply, 400, 'scope=fleet needs a cluster: this node runs alone');
    try {
      const { events, ...rest } = await fleet.read(f);
      return { events, fleet: rest };
    } catch (err) {
      return void fail(reply, 503, `fleet view unavailable: ${(err as Error).message}`);
    }
  };

  app.get<{ Querystring: ThreatsQuery }>(
    '/api/threats',
    {
      schema: {
        tags: ['threats'],
        summary:
          "Threats, newest first, filtered in the events store: view (tunnels, policy, all) or types, minimum severity, client, time window; each with its MITRE ATT&CK techniques. scope=fleet: every cluster node's, from Redis, each naming its node",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterProperties,
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            since: { type: 'integer', description: 'ms since the epoch (as from)' },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query as ThreatsQuery & { since?: number };
      const found = await search(
        { ...q, from: q.from ?? (q.since === undefined ? undefined : String(q.since)) },
        q.limit ?? 100,
        reply,
      );
      if (found === undefined) return reply;
      // `node`: this node's name in a cluster (the page offers the fleet scope then), else null.
      return {
        threats: found.events.map(withAttack),
        scope: q.scope ?? 'node',
        node: c.server.fleet?.node ?? null,
        ...(found.fleet === undefined ? {} : { fleet: found.fleet }),
      };
    },
  );

  app.get<{ Querystring: ThreatsQuery }>(
    '/api/threats/export',
    {
      schema: {
        tags: ['threats'],
        summary: `The filtered threats as a download: CSV (RFC 4180, every field quoted) or JSON; at most ${EXPORT_LIMIT}, newest first`,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterProperties,
            format: { type: 'string', enum: ['csv', 'json'], default: 'csv' },
            limit: { type: 'integer', minimum: 1, maximum: EXPORT_LIMIT, default: EXPORT_LIMIT },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const found = await search(q, q.limit ?? EXPORT_LIMIT, reply);
      if (found === undefined) return reply;
      const events = found.events;
      const format = q.format ?? 'csv';
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      reply.header('content-disposition', `attachment; filename="dnsward-threats-${stamp}.${format}"`);
      reply.header('cache-control', 'no-store');
      if (format === 'json')
        return reply
          .type('application/json; charset=utf-8')
          .send(JSON.stringify({ threats: events.map(withAttack) }, null, 2));
      return reply.type('text/csv; charset=utf-8').send(threatsCsv(events));
    },
  );
}
