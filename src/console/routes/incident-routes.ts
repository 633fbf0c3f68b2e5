/**
 * One incident (GET /api/threats/:incident): its events with the stage trace, the timeline of
 * what happened to its domain and clients (Tunnel Guard's events on the domain: the monitor-mode
 * report, the block, later offences; each block's end; the operators' audited actions with
 * their comments), the bytes leaked, and what is in force now, so the page shows the state an
 * action left rather than the one it was drawn with.
 *
 * A later offence on a domain is a new block with its own incident id (guard/domain-blocks.ts),
 * and a monitor-mode report has none: the timeline takes the domain's Tunnel Guard events, not
 * only this id's, and marks which incident each belongs to.
 */
import type { FastifyInstance } from 'fastify';
import type { BlocksReply } from '../../control/blocks-reply.js';
import { withAttack } from '../../events/attack-techniques.js';
import type { SecurityEvent } from '../../events/security-event.js';
import type { AuditEntry } from '../../store/guard-store.js';
import { type ConsoleContext, fail } from '../console-context.js';
import type { IncidentLeak, IncidentState, IncidentStep } from '../web/api-types.js';
import { THREAT_TYPES, TUNNEL_TYPES } from './threat-routes.js';

const DOMAIN_EVENTS = 100;
const AUDIT_ENTRIES = 100;
/** Clients whose audit entries the timeline looks up (an incident has one or a few). */
const MAX_CLIENTS = 20;

/**
 * When a block event's block ends: the block in force (exact), else the decision stage's
 * `blockedUntil` evidence, else (events written before that evidence existed) the headline
 * guard/domain-blocks.ts startBlock writes as the event's first reason ("… until <ISO> (incident …").
 */
export function blockEnd(e: SecurityEvent, state: IncidentState): number | undefined {
  const active = state.blocks.find((b) => b.incident === e.incident);
  if (active !== undefined) return active.until * 1000;
  const until = e.stages?.find((s) => s.name === 'decision')?.evidence.blockedUntil;
  if (typeof until === 'number') return until * 1000;
  const m = / until (\d{4}-\d\d-\d\dT[\d:.]+Z) \(incident /.exec(e.reasons[0] ?? '');
  return m === null ? undefined : Date.parse(m[1]);
}

function detectionText(e: SecurityEvent): string {
  const what =
    e.enforced === false || e.type === 'tunnel_detected'
      ? `reported, not blocked (${e.action === 'monitor' ? 'close to a budget' : 'monitor mode'})`
      : e.type === 'domain_blocked'
        ? 'domain blocked'
        : 'query blocked';
  return `${what}${e.client ? ` · client ${e.client}` : ''}${e.reasons[0] ? ` · ${e.reasons[0]}` : ''}`;
}

function auditText(a: AuditEntry): string {
  let detail = '';
  try {
    const d = JSON.parse(a.detail) as { until?: number; client?: string; domain?: string };
    if (typeof d.until === 'number') detail += ` until ${new Date(d.until * 1000).toISOString()}`;
    if (typeof d.client === 'string' && d.client !== a.subject) detail += ` from ${d.client}`;
  } catch {
    // An entry whose detail is not JSON is shown by its action and subject alone.
  }
  return `${a.action} ${a.subject}${detail}`;
}

/** The incident's timeline, oldest first: detections, each block's end, operator actions. */
export function incidentTimeline(
  events: readonly SecurityEvent[],
  audit: readonly AuditEntry[],
  state: IncidentState,
  now: number,
): IncidentStep[] {
  const steps: IncidentStep[] = [];
  for (const e of events) {
    steps.push({
      t: Date.parse(e.time),
      kind: 'detection',
      what: e.type,
      by: e.operator ?? 'Tunnel Guard',
      incident: e.incident,
      enforced: e.enforced,
      client: e.client,
      text: detectionText(e),
    });
    if (e.type !== 'domain_blocked' || e.incident === undefined) continue;
    const end = blockEnd(e, state);
    const inForce = state.blocks.some((b) => b.incident === e.incident);
    // A block no longer in force before its end was lifted: the operator's step says by whom.
    if (end === undefined || (!inForce && end > now)) continue;
    steps.push({
      t: end,
      kind: 'expiry',
      what: 'block_end',
      by: 'Tunnel Guard',
      incident: e.incident,
      text: inForce ? `block ${e.incident} ends` : `block ${e.incident} expired`,
      planned: inForce,
    });
  }
  for (const a of audit)
    steps.push({
      t: a.at,
      kind: 'operator',
      what: a.action,
      by: a.who,
      text: auditText(a),
      ...(a.comment === undefined ? {} : { comment: a.comment }),
    });
  const order = { detection: 0, operator: 1, expiry: 2 };
  return steps.sort((a, b) => a.t - b.t || order[a.kind] - order[b.kind]);
}

/**
 * Bytes leaked on one basis (see IncidentLeak): each client's Tunnel Guard estimate at each of
 * its events, from 0 when the domain was first seen; the total is the sum of the last values.
 * The query log is not the basis: by default it keeps only blocked queries, which leaked nothing.
 */
export function incidentLeak(events: readonly SecurityEvent[], firstSeenMs: number | null): IncidentLeak {
  const byClient = new Map<string, Array<[number, number]>>();
  for (const e of [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))) {
    if (e.leakedBytes === undefined || e.client === undefined || !TUNNEL_TYPES.includes(e.type)) continue;
    const points = byClient.get(e.client) ?? [];
    const t = Date.parse(e.time);
    if (points.length === 0 && firstSeenMs !== null && firstSeenMs < t) points.push([firstSeenMs, 0]);
    points.push([t, e.leakedBytes]);
    byClient.set(e.client, points);
  }
  const clients = [...byClient].map(([client, points]) => ({ client, points }));
  const total = clients.reduce((n, c) => n + c.points[c.points.length - 1][1], 0);
  return { basis: 'tunnel-guard-estimate', clients, total: Math.round(total * 100) / 100 };
}

/** What is in force now on the domain and the incident's clients. */
export function incidentState(blocks: BlocksReply, domain: string, clients: readonly string[]): IncidentState {
  return {
    blocks: blocks.blocks
      .filter((b) => b.domain === domain)
      .map((b) => ({ domain: b.domain, scope: b.scope, client: b.client, incident: b.incident, until: b.until })),
    allows: blocks.allows
      .filter(
        (a) => a.domain === domain || (a.domain === undefined && a.client !== undefined && clients.includes(a.client)),
      )
      .map((a) => ({ domain: a.domain, client: a.client, until: a.until, by: a.by })),
    quarantines: blocks.quarantines
      .filter((q) => clients.includes(q.client))
      .map((q) => ({ client: q.client, until: q.until, by: q.by })),
  };
}

export function incidentRoutes(app: FastifyInstance, c: ConsoleContext): void {
  const s = c.server;
  app.get<{ Params: { incident: string } }>(
    '/api/threats/:incident',
    {
      schema: {
        tags: ['threats'],
        summary:
          "One incident: its events with the stage trace, its timeline (Tunnel Guard's events on the domain, block ends, operator actions with comments), bytes leaked, what is in force now, samples, clients",
        params: {
          type: 'object',
          properties: { incident: { type: 'string', maxLength: 64 } },
        },
      },
    },
    async (request, reply) => {
      const incident = request.params.incident;
      let events = await s.queryLog.events({ incident, limit: 200 });
      // Another cluster node's incident: this node has at most the decision it applied (no stage
      // trace); the deciding node's events come from the fleet stream, when Redis answers.
      if (s.fleet !== null && !events.some((e) => e.stages.length > 0)) {
        const fleet = await s.fleet.read({ incident, limit: 200 }).catch(() => null);
        const known = new Set(events.map((e) => e.id));
        events = [...events, ...(fleet?.events ?? []).filter((e) => !known.has(e.id))].sort(
          (a, b) => Date.parse(b.time) - Date.parse(a.time),
        );
      }
      if (events.length === 0) return fail(reply, 404, `no incident ${incident}`);
      const primary =
        events.find((e) => THREAT_TYPES.includes(e.type) && e.stages.length > 0) ??
        events.find((e) => THREAT_TYPES.includes(e.type)) ??
        events[events.length - 1];
      const domain = primary.domain ?? '';
      const [queries, domainEvents] =
        domain === ''
          ? [[], []]
          : await Promise.all([
              s.queryLog.queries({ domain, limit: 1000 }),
              s.queryLog.events({ domain, type: TUNNEL_TYPES, limit: DOMAIN_EVENTS }),
            ]);
      const incidentClients = [
        ...new Set(events.map((e) => e.client).filter((x): x is string => x !== undefined)),
      ].slice(0, MAX_CLIENTS);
      const clients = [
        ...new Set([...incidentClients, ...queries.map((q) => q.client)].filter((x): x is string => x !== undefined)),
      ];
      const related = [...new Map([...events, ...domainEvents].map((e) => [e.id, e])).values()];
      const state = incidentState(
        (await s.control({ cmd: 'blocks', who: 'console' })) as BlocksReply,
        domain,
        incidentClients,
      );
      const audit = s.auditFor(domain === '' ? incidentClients : [domain, ...incidentClients], AUDIT_ENTRIES);
      const learned = s.guard.describeDomain(domain, Date.now() / 1000);
      return {
        incident,
        primary: withAttack(primary),
        events: events.map(withAttack),
        domain,
        clients,
        firstSeen: learned?.firstSeen ?? null,
        learned: learned ?? null,
        history: incidentTimeline(related, audit, state, Date.now()),
        leak: incidentLeak(related, learned === undefined ? null : learned.firstSeen * 1000),
        state,
        timeline: queries
          .slice()
          .reverse()
          .map((q) => ({
            t: q.t,
            qname: q.qname,
            client: q.client,
            type: q.type,
          })),
        queryLogMode: s.queryLog.mode,
      };
    },
  );
}
