/** Login, logout, who am I; users and API tokens (admins only). */
import type { FastifyInstance } from 'fastify';
import { MIN_PASSWORD_LENGTH } from '../auth/password.js';
import { ROLES, type Role, UserError } from '../auth/user-store.js';
import { SESSION_COOKIE } from '../auth/request-auth.js';
import { type ConsoleContext, fail, identity } from '../console-context.js';

const credentials = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', maxLength: 64 }, password: { type: 'string', maxLength: 1024 } },
} as const;

export function authRoutes(app: FastifyInstance, c: ConsoleContext): void {
  app.post<{ Body: { username: string; password: string } }>(
    '/api/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Log in; sets the session cookie and returns the CSRF token',
        body: credentials,
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      // The attempt is counted before the password is checked (scrypt takes a while): parallel
      // attempts cannot all pass the limit while none has failed yet.
      const wait = c.limiter.begin(request.ip, username);
      if (wait > 0) {
        reply.header('retry-after', Math.ceil(wait / 1000));
        return fail(reply, 429, 'too many failed logins: try again later');
      }
      const role = await c.users.verify(username, password);
      if (role === undefined) {
        c.log.warn({ user: username, ip: request.ip }, 'console login failed');
        return fail(
          reply,
          401,
          c.users.count() === 0
            ? 'no console user exists yet: create one with `dnsward user add NAME`'
            : 'wrong user name or password',
        );
      }
      c.limiter.succeed(request.ip, username);
      const session = c.sessions.create(username, role, c.users.stampOf(username));
      reply.setCookie(SESSION_COOKIE, session.id, {
        httpOnly: true,
        sameSite: 'strict',
        secure: c.secureCookies,
        path: '/',
      });
      c.log.info({ user: username, role, ip: request.ip }, 'console login');
      // Failed logins stay in the log only: anyone can make them, and the audit table is bounded.
      c.server.auditChange(`${username} (console)`, 'login', username, { role, ip: request.ip });
      return { user: username, role, csrfToken: session.csrf };
    },
  );

  app.post('/api/logout', { schema: { tags: ['auth'], summary: 'Log out' } }, async (request, reply) => {
    const who = identity(request);
    c.sessions.delete(who.sessionId);
    if (who.sessionId !== undefined)
      c.server.auditChange(`${who.user} (console)`, 'logout', who.user, { ip: request.ip });
    c.streams.recheck();
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get(
    '/api/me',
    { schema: { tags: ['auth'], summary: 'The logged-in user, role and CSRF token' } },
    async (request) => {
      const who = identity(request);
      return { user: who.user, role: who.role, csrfToken: who.csrf ?? null };
    },
  );

  app.get(
    '/api/setup',
    {
      config: { access: 'public' },
      schema: { tags: ['auth'], summary: 'Whether any console user exists (for the login page)' },
    },
    async () => ({ hasUsers: c.users.count() > 0, minPasswordLength: MIN_PASSWORD_LENGTH }),
  );

  app.get(
    '/api/users',
    { config: { access: 'admin' }, schema: { tags: ['users'], summary: 'Console users' } },
    async () => ({ users: c.users.list() }),
  );

  app.post<{ Body: { name: string; password: string; role: Role } }>(
    '/api/users',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Add a user or change a password or role',
        body: {
          type: 'object',
          required: ['name', 'password', 'role'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            password: { type: 'string' },
            role: { type: 'string', enum: [...ROLES] },
          },
        },
      },
    },
    async (request, reply) => {
      try {
        await c.users.set(request.body.name, request.body.password, request.body.role);
      } catch (err) {
        if (err instanceof UserError) return fail(reply, 400, err.message);
        throw err;
      }
      c.sessions.deleteUser(request.body.name);
      c.streams.recheck();
      c.server.auditChange(identity(request).user, 'user-set', request.body.name, { role: request.body.role });
      return { name: request.body.name, role: request.body.role };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/users/:name',
    { config: { access: 'admin' }, schema: { tags: ['users'], summary: 'Remove a user' } },
    async (request, reply) => {
      if (!c.users.remove(request.params.name)) return fail(reply, 404, `no user ${request.params.name}`);
      c.sessions.deleteUser(request.params.name);
      c.streams.recheck();
      c.server.auditChange(identity(request).user, 'user-remove', request.params.name, {});
      return { removed: request.params.name };
    },
  );

  app.get(
    '/api/tokens',
    { config: { access: 'admin' }, schema: { tags: ['tokens'], summary: 'API tokens (without their secrets)' } },
    async () => ({ tokens: c.users.tokens() }),
  );

  app.post<{ Body: { name: string; role: Role } }>(
    '/api/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Make an API token for automation (`Authorization: Bearer <token>`); the secret is shown once',
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            role: { type: 'string', enum: [...ROLES] },
          },
        },
      },
    },
    async (request) => {
      const made = c.users.createToken(request.body.name, request.body.role, identity(request).user);
      c.server.auditChange(identity(request).user, 'token-create', request.body.name, {
        id: made.id,
        role: request.body.role,
      });
      return made;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/tokens/:id',
    { config: { access: 'admin' }, schema: { tags: ['tokens'], summary: 'Revoke an API token' } },
    async (request, reply) => {
      if (!c.users.revokeToken(request.params.id)) return fail(reply, 404, 'no such token');
      c.streams.recheck();
      c.server.auditChange(identity(request).user, 'token-revoke', request.params.id, {});
      return { revoked: request.params.id };
    },
  );
}
