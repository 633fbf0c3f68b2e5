/**
 * The local allow and deny lists from the console (Feeds & lists page, the query log's quick
 * actions): read by any user, changed by admins, through the same control commands as the
 * socket; each change is audited under the console user with the comment given, and in force
 * when the answer comes (the list's feed is refreshed first).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_COMMENT_LENGTH } from '../../control/operator-comment.js';
import type { ControlRequest } from '../../control/control-protocol.js';
import { type ConsoleContext, fail, identity } from '../console-context.js';

const listParams = {
  type: 'object',
  required: ['list'],
  properties: { list: { type: 'string', enum: ['allow', 'deny'] } },
} as const;

const changeBody = {
  type: 'object',
  required: ['domain'],
  additionalProperties: false,
  properties: {
    domain: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      description: 'the name; the entry covers everything under it too',
    },
    comment: {
      type: 'string',
      maxLength: MAX_COMMENT_LENGTH,
      description: `why, kept in the audit log; one line, at most ${MAX_COMMENT_LENGTH} characters`,
    },
  },
} as const;

type Change = { Params: { list: 'allow' | 'deny' }; Body: { domain: string; comment?: string } };

export function listRoutes(app: FastifyInstance, c: ConsoleContext): void {
  app.get(
    '/api/lists',
    {
      schema: {
        tags: ['feeds'],
        summary: 'The local allow and deny lists (applied as the feeds local-allow and local-deny), with their feeds',
      },
    },
    async (_request, reply) => {
      try {
        return await c.server.control({ cmd: 'lists', who: 'console' });
      } catch (err) {
        return fail(reply, 503, (err as Error).message);
      }
    },
  );

  const change = (cmd: 'list-add' | 'list-remove') => async (request: FastifyRequest<Change>, reply: FastifyReply) => {
    try {
      return await c.server.control({
        cmd,
        list: request.params.list,
        domain: request.body.domain,
        comment: request.body.comment,
        who: `${identity(request).user} (console)`,
      } as ControlRequest);
    } catch (err) {
      return fail(reply, 400, (err as Error).message);
    }
  };

  app.post<Change>(
    '/api/lists/:list',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['feeds'],
        summary: 'Add a name (and everything under it) to the local allow or deny list; in force when answered',
        params: listParams,
        body: changeBody,
      },
    },
    change('list-add'),
  );

  app.post<Change>(
    '/api/lists/:list/remove',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['feeds'],
        summary: 'Remove a name from the local allow or deny list; in force when answered',
        params: listParams,
        body: changeBody,
      },
    },
    change('list-remove'),
  );
}
