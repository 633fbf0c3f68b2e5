/**
 * The query log and its statistics for the console: GET /api/queries searches the logged rows a
 * page at a time, GET /api/stats sums the hourly statistics (never the rows). Both read in the
 * query-log worker thread, so a search never holds up the event loop that answers DNS. Any
 * logged-in user may read them (like the other data routes); the answers' shapes are
 * web/api-types.ts, shared with the UI.
 */
import type { FastifyInstance } from 'fastify';
import { qtypeFromText, qtypeName, RcodeName } from '../../dns/wire.js';
import type { QuerySearch } from '../../querylog/query-log-store.js';
import type { StatsRange } from '../../querylog/query-stats-store.js';
import { type ConsoleContext, fail } from '../console-context.js';
import type { QueryPage, QueryStats } from '../web/api-types.js';
import { TIME_RANGE_PROPERTIES, timeRange } from './time-filter.js';

export const MAX_PAGE = 500;
const MAX_OFFSET = 10_000;
const TOP = 10;
/** The query log's rcode of a query that got no answer (querylog/query-log.ts). */
const NO_RCODE = 255;

interface QueriesQuery {
  q?: string;
  match?: 'substring' | 'prefix';
  domain?: string;
  client?: string;
  action?: string;
  type?: string;
  from?: string;
  to?: string;
  cursor?: string;
  offset?: number;
  limit?: number;
}

const queriesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 253, description: 'part of the query name (any case)' },
    match: {
      type: 'string',
      enum: ['substring', 'prefix'],
      default: 'substring',
      description: 'how q matches the name',
    },
    domain: {
      type: 'string',
      maxLength: 253,
      description: 'a registered domain (everything under it) or an exact name',
    },
    client: { type: 'string', maxLength: 64, description: 'one client address' },
    action: { type: 'string', maxLength: 32, description: 'what dnsward did: answered, cached, blocked, …' },
    type: { type: 'string', maxLength: 16, description: 'the query type: A, AAAA, TYPE65, or its number' },
    ...TIME_RANGE_PROPERTIES,
    cursor: { type: 'string', pattern: '^[0-9]{1,15}-[0-9]{1,15}$', description: 'the `next` of the previous page' },
    offset: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_OFFSET,
      default: 0,
      description: 'rows to skip (with no cursor)',
    },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 50 },
  },
} as const;

export function queryRoutes(app: FastifyInstance, c: ConsoleContext): void {
  const log = c.server.queryLog;

  app.get<{ Querystring: QueriesQuery }>(
    '/api/queries',
    {
      schema: {
        tags: ['queries'],
        summary:
          'Search the query log, newest first: name substring or prefix, domain, client, action, query type, time window; paged by cursor or offset',
        querystring: queriesSchema,
      },
    },
    async (request, reply): Promise<QueryPage | undefined> => {
      const p = request.query;
      const now = Date.now();
      const search: QuerySearch = { limit: p.limit ?? 50 };
      const range = timeRange(p, now);
      if (typeof range === 'string') return void fail(reply, 400, range);
      Object.assign(search, range);
      if (p.type !== undefined && p.type !== '') {
        const qtype = qtypeFromText(/^\d+$/.test(p.type) ? Number(p.type) : p.type);
        if (qtype === null) return void fail(reply, 400, `unknown query type "${p.type}"`);
        search.qtype = qtype;
      }
      if (p.q !== undefined && p.q.trim() !== '') {
        search.q = p.q.trim().replace(/\.$/, '');
        search.prefix = p.match === 'prefix';
      }
      if (p.domain) search.domain = p.domain;
      if (p.client) search.client = p.client;
      if (p.action) search.action = p.action;
      if (p.cursor !== undefined) {
        const [t, id] = p.cursor.split('-').map(Number);
        search.before = { t, id };
      } else search.offset = p.offset ?? 0;
      const { rows, more } = await log.search(search);
      const last = rows.at(-1);
      return {
        queries: rows.map((r) => ({
          ...r,
          qtypeName: qtypeName(r.qtype),
          rcodeName: r.rcode === NO_RCODE ? '–' : (RcodeName[r.rcode] ?? `RCODE${r.rcode}`),
        })),
        next: more && last !== undefined ? `${last.t}-${last.id}` : null,
        offset: search.offset ?? 0,
        queryLogMode: log.mode,
      };
    },
  );

  app.get<{ Querystring: { range?: StatsRange } }>(
    '/api/stats',
    {
      schema: {
        tags: ['queries'],
        summary:
          'Statistics of the last 24 hours or 7 days from the hourly counts: totals by action, top clients, domains and blocked domains, queries and blocks per hour',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { range: { type: 'string', enum: ['24h', '7d'], default: '24h' } },
        },
      },
    },
    async (request): Promise<QueryStats> => {
      const range = request.query.range ?? '24h';
      return { range, ...(await log.stats(range, TOP)), queryLogMode: log.mode };
    },
  );
}
