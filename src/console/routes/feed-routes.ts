/**
 * The Feeds & lists page: every response-policy feed's rules, version, last load, last error and
 * groups (any user), and "refresh now" (admins), through the same control commands as
 * `dnsward feeds` and `dnsward feeds refresh`. A refresh is audited under the console user.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ConsoleContext, fail, identity } from '../console-context.js';
import type { FeedsAnswer } from '../web/api-types.js';

export function feedRoutes(app: FastifyInstance, c: ConsoleContext): void {
  app.get(
    '/api/feeds',
    { schema: { tags: ['feeds'], summary: 'Response-policy feeds: rules, version, last load, last error, groups' } },
    async (): Promise<FeedsAnswer> => {
      return (await c.server.control({ cmd: 'feeds', who: 'console' })) as FeedsAnswer;
    },
  );

  const refresh = async (request: FastifyRequest, reply: FastifyReply, name: string | undefined) => {
    const who = identity(request).user;
    try {
      const answer = (await c.server.control({ cmd: 'feeds-refresh', name, who: `${who} (console)` })) as FeedsAnswer;
      const shown = answer.feeds.filter((f) => name === undefined || f.name === name);
      c.server.auditChange(`${who} (console)`, 'feeds-refresh', name ?? '*', {
        updated: answer.updated ?? [],
        errors: shown.filter((f) => f.lastError !== null).map((f) => f.name),
      });
      return answer;
    } catch (err) {
      return fail(reply, 400, (err as Error).message);
    }
  };

  app.post(
    '/api/feeds/refresh',
    {
      config: { access: 'admin' },
      schema: { tags: ['feeds'], summary: 'Re-read every feed now (a file when it changed, a URL conditionally)' },
    },
    async (request, reply) => refresh(request, reply, undefined),
  );

  app.post<{ Params: { name: string } }>(
    '/api/feeds/:name/refresh',
    { config: { access: 'admin' }, schema: { tags: ['feeds'], summary: 'Re-read one feed now' } },
    async (request, reply) => refresh(request, reply, request.params.name),
  );
}
