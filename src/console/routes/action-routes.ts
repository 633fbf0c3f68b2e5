/**
 * The analyst's actions, each with an expiry, each audited under the console user's name with
 * the optional comment the analyst gave (the control commands check it again, as for the CLI).
 */
import type { FastifyInstance } from 'fastify';
import { MAX_COMMENT_LENGTH } from '../../control/operator-comment.js';
import { operatorSeconds } from '../../control/operator-duration.js';
import type { ControlRequest } from '../../control/control-protocol.js';
import { type ConsoleContext, fail, identity } from '../console-context.js';

const forProperty = {
  type: 'string',
  description: 'how long: 30m, 12h, 7d or forever (default 1d)',
  maxLength: 16,
} as const;

const commentProperty = {
  type: 'string',
  description: `why (a ticket, a note), kept in the audit log; one line, at most ${MAX_COMMENT_LENGTH} characters`,
  maxLength: MAX_COMMENT_LENGTH,
} as const;

function seconds(text: string | undefined, fallback: number): number | string {
  const secs = operatorSeconds(text, fallback);
  return typeof secs === 'string' ? `"for" must be ${secs}` : secs;
}

export function actionRoutes(app: FastifyInstance, c: ConsoleContext): void {
  const act =
    (
      build: (body: Record<string, string | undefined>, secs: number) => Omit<ControlRequest, 'who'>,
      fallbackSeconds = 86_400,
    ) =>
    async (request: { body: unknown }, reply: Parameters<typeof fail>[0]) => {
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      const secs = seconds(body.for, fallbackSeconds);
      if (typeof secs === 'string') return fail(reply, 400, secs);
      try {
        return {
          ok: true,
          result: await c.server.control({
            ...build(body, secs),
            comment: body.comment,
            who: `${identity(request as never).user} (console)`,
          } as ControlRequest),
        };
      } catch (err) {
        return fail(reply, 400, (err as Error).message);
      }
    };
  const body = (required: string[], properties: Record<string, object>) =>
    ({
      type: 'object',
      required,
      additionalProperties: false,
      properties: { ...properties, comment: commentProperty },
    }) as const;
  const admin = { access: 'admin' as const };

  app.post(
    '/api/actions/allow',
    {
      config: admin,
      schema: {
        tags: ['actions'],
        summary: 'Allow a domain, a client range (CIDR), or both, through Tunnel Guard, for a while',
        body: body([], {
          domain: { type: 'string', maxLength: 253 },
          client: { type: 'string', maxLength: 64 },
          for: forProperty,
        }),
      },
    },
    act((b, secs) => ({ cmd: 'allow', domain: b.domain || undefined, client: b.client || undefined, seconds: secs })),
  );

  app.post(
    '/api/actions/disallow',
    {
      config: admin,
      schema: {
        tags: ['actions'],
        summary: 'Remove an operator allow (of exactly this domain and client range) before it ends',
        body: body([], { domain: { type: 'string', maxLength: 253 }, client: { type: 'string', maxLength: 64 } }),
      },
    },
    act((b) => ({ cmd: 'disallow', domain: b.domain || undefined, client: b.client || undefined })),
  );

  app.post(
    '/api/actions/unblock',
    {
      config: admin,
      schema: {
        tags: ['actions'],
        summary: 'Lift a domain block',
        body: body(['domain'], { domain: { type: 'string', maxLength: 253 } }),
      },
    },
    act((b) => ({ cmd: 'unblock', domain: b.domain! })),
  );

  app.post(
    '/api/actions/unblock-client',
    {
      config: admin,
      schema: {
        tags: ['actions'],
        summary: 'Lift the dynamic blocks of a client address or range (CIDR)',
        body: body(['client'], { client: { type: 'string', maxLength: 64 } }),
      },
    },
    act((b) => ({ cmd: 'unblock-client', client: b.client! })),
  );

  app.post(
    '/api/actions/quarantine',
    {
      config: admin,
      schema: {
        tags: ['actions'],
        summary: 'Quarantine a client (its queries are refused or sinkholed) for a while',
        body: body(['client'], { client: { type: 'string', maxLength: 64 }, for: forProperty }),
      },
    },
    act((b, secs) => ({ cmd: 'quarantine', client: b.client!, seconds: secs })),
  );

  app.post(
    '/api/actions/release',
    {
      config: admin,
      schema: {
        tags: ['actions'],
        summary: 'Release a quarantined client',
        body: body(['client'], { client: { type: 'string', maxLength: 64 } }),
      },
    },
    act((b) => ({ cmd: 'release', client: b.client! })),
  );

  app.post(
    '/api/actions/monitor',
    {
      config: admin,
      schema: {
        tags: ['actions'],
        summary: 'Tunnel Guard in monitor-only mode for a while (reports, does not block); "for": "0s" ends it',
        body: body([], { for: forProperty }),
      },
    },
    async (request, reply) => {
      const b = (request.body ?? {}) as { for?: string; comment?: string };
      const secs = b.for === '0s' || b.for === '0' ? 0 : seconds(b.for, 3600);
      if (typeof secs === 'string') return fail(reply, 400, secs);
      try {
        return {
          ok: true,
          result: await c.server.control({
            cmd: 'monitor',
            seconds: secs,
            comment: b.comment,
            who: `${identity(request).user} (console)`,
          }),
        };
      } catch (err) {
        return fail(reply, 400, (err as Error).message);
      }
    },
  );
}
