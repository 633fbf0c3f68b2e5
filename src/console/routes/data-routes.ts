/**
 * What the analyst reads: overview, domains, clients, learning status,
 * audit log, the running configuration; and the live stream (server-sent events).
 */
import type { FastifyInstance } from 'fastify';
import type { SecurityEvent } from '../../events/security-event.js';
import type { Config } from '../../config/schema.js';
import { type ConsoleContext, identity } from '../console-context.js';
import type { ClientStats } from '../web/api-types.js';
import { withAttack } from '../../events/attack-techniques.js';
import { stringify as stringifyYaml } from 'yaml';

const LIVE_BUFFER_BYTES = 1 << 20;
const KEEPALIVE_MS = 15_000;

const limitQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    since: { type: 'integer' },
    q: { type: 'string', maxLength: 253 },
  },
} as const;

export function redactConfig(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if ((key === 'token' || key === 'secret') && typeof value === 'string') return '(set)';
      if ((key === 'ca' || key === 'cert' || key === 'key') && typeof value === 'string')
        return `(PEM, ${value.length} bytes)`;
      // A local zone's records can be a million: the view names how many, not each.
      if (key === 'zones' && Array.isArray(value))
        return (value as Config['zones']).map((z) => ({ ...z, records: `(${z.records.length} records)` }));
      return value;
    }),
  );
}

export function dataRoutes(app: FastifyInstance, c: ConsoleContext): void {
  const s = c.server;
  const now = () => Date.now() / 1000;

  app.get(
    '/api/overview',
    {
      schema: {
        tags: ['overview'],
        summary: 'Live statistics: the last hour of per-second samples, totals, upstreams, Tunnel Guard',
      },
    },
    async () => {
      const snap = s.snapshot();
      return {
        now: Date.now(),
        startedAt: c.startedAt,
        guardMode: s.guardMode,
        monitorUntil: s.monitorUntil,
        totals: {
          queries: snap.queries.udp + snap.queries.tcp + snap.queries.tls + snap.queries.https,
          responseTypes: snap.responseTypes,
          cacheHits: snap.cache.hits,
          cacheMisses: snap.cache.misses,
          activeBlocks: snap.guard.activeBlocks,
          eventsDropped: snap.events.dropped,
        },
        upstreams: snap.upstreams,
        series: c.history.series(),
      };
    },
  );

  app.get<{ Querystring: { q?: string; limit?: number } }>(
    '/api/domains',
    {
      schema: {
        tags: ['domains'],
        summary: 'Registered domains Tunnel Guard knows, busiest first; q filters by substring',
        querystring: limitQuery,
      },
    },
    async (request) => {
      return { domains: s.guard.searchDomains(request.query.q ?? '', request.query.limit ?? 50, now()) };
    },
  );

  app.get<{ Params: { domain: string } }>(
    '/api/domains/:domain',
    {
      schema: { tags: ['domains'], summary: 'One domain: what learning thinks normal for it, its history and events' },
    },
    async (request) => {
      const domain = request.params.domain.toLowerCase().replace(/\.$/, '');
      const [events, queries] = await Promise.all([
        s.queryLog.events({ domain, limit: 100 }),
        s.queryLog.queries({ domain, limit: 200 }),
      ]);
      return {
        domain,
        learned: s.guard.describeDomain(domain, now()) ?? null,
        events,
        queries,
        queryLogMode: s.queryLog.mode,
      };
    },
  );

  app.get<{ Params: { client: string } }>(
    '/api/clients/:client',
    {
      schema: {
        tags: ['clients'],
        summary: 'One client: its state, its query counts of the last 24 hours, history and events',
      },
    },
    async (request) => {
      const client = request.params.client;
      const [events, queries, counts] = await Promise.all([
        s.queryLog.events({ client, limit: 100 }),
        s.queryLog.queries({ client, limit: 200 }),
        s.queryLog.clientStats(client, '24h'),
      ]);
      const stats: ClientStats = { range: '24h', ...counts };
      return {
        client,
        learned: s.guard.describeClient(client, now()) ?? null,
        stats,
        events,
        queries,
        queryLogMode: s.queryLog.mode,
      };
    },
  );

  app.get(
    '/api/learning',
    {
      schema: {
        tags: ['learning'],
        summary: 'How long and how much this network has been learned, and the legitimate encoders recognised',
      },
    },
    async () => {
      const g = s.guard;
      const snap = s.snapshot().guard;
      return {
        learningSince: g.learningSince,
        queriesSeen: snap.queries,
        newNames: snap.newNames,
        namesLearned: snap.learnedNames,
        characterModelObservations: g.model.observed,
        learned: { budgetBytes: g.budget, queryBudgetBytes: g.queryBudget, allowanceBits: g.allowanceBits },
        state: { domains: snap.domains, clients: snap.clients, pairs: snap.pairs },
        recognisedEncoders: g.recognisedEncoders(now()),
        mode: s.guardMode,
        monitorUntil: s.monitorUntil,
      };
    },
  );

  app.get(
    '/api/blocks',
    {
      schema: {
        tags: ['threats'],
        summary: 'Active blocks, allows, quarantines and dynamic blocks of client prefixes',
      },
    },
    async () => s.control({ cmd: 'blocks', who: 'console' }),
  );

  app.get('/api/audit', { schema: { tags: ['audit'], summary: 'Who did what (newest last)' } }, async () => ({
    audit: s.auditLog(500),
  }));

  app.get(
    '/api/config',
    { schema: { tags: ['config'], summary: 'The running configuration, secrets redacted (read-only)' } },
    async () => {
      const config = redactConfig(s.runningConfig);
      // YAML as operators write it (the same keys as the file, with every default filled in).
      return { config, yaml: stringifyYaml(config, { lineWidth: 0 }) };
    },
  );

  app.get(
    '/api/stream',
    {
      schema: {
        tags: ['live'],
        summary: 'Server-sent events: `security` for each security event, `stats` each second',
      },
    },
    (request, reply) => {
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // HEAD has no body, so its headers would wait for an end that never comes.
      if (request.method === 'HEAD') return void out.end();
      out.write(': dnsward live\n\n');
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        offEvents();
        offStats();
        clearInterval(keepalive);
        forget();
        out.end();
      };
      const send = (event: string, data: unknown) => {
        // A client that does not read is cut loose rather than buffered without end.
        if (out.writableLength > LIVE_BUFFER_BYTES) return close();
        out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      // The stream lives as long as the credential it was opened with (see LiveStreams).
      const forget = c.streams.add({ credential: identity(request).credential, close });
      const offEvents = c.fanout.subscribe((e: SecurityEvent) => send('security', withAttack(e)));
      const offStats = c.history.onSample((sample) => send('stats', sample));
      const keepalive = setInterval(() => out.write(': keepalive\n\n'), KEEPALIVE_MS);
      keepalive.unref();
      request.raw.on('close', close);
    },
  );
}
