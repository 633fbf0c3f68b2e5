/**
 * The dnsward console: an admin HTTP server (fastify) on its own listener, loopback by default,
 * optionally over TLS. It serves the web UI (bundled, nothing from a CDN), a REST API documented
 * in OpenAPI at /api/docs, and a live stream. Every API route but login needs a session cookie
 * (with a CSRF token for changes) or a bearer token; actions need the admin role.
 */
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { HostPort } from '../util/address.js';
import { packageVersion } from '../util/package-version.js';
import type { DnswardServer } from '../server/dnsward-server.js';
import { LoginLimiter } from './auth/login-limiter.js';
import { SessionStore } from './auth/sessions.js';
import { UserStore } from './auth/user-store.js';
import { type ConsoleContext, fail, type Identity } from './console-context.js';
import { EventFanout } from './live/event-fanout.js';
import { MetricsHistory } from './live/metrics-history.js';
import { actionRoutes } from './routes/action-routes.js';
import { authRoutes, SESSION_COOKIE } from './routes/auth-routes.js';
import { dataRoutes } from './routes/data-routes.js';

export interface ConsoleOptions {
  listen: HostPort;
  tls?: { cert: string; key: string };
  sessionTimeoutMs: number;
  usersPath: string;
  loginLimits: { perAddress: number; perUser: number; windowMs: number };
}

// The UI's files: HTML and CSS from the source folder, the compiled script from dist/console-web.
const WEB_SOURCE = fileURLToPath(new URL('../../../src/console/web/', import.meta.url));
const WEB_BUILD = fileURLToPath(new URL('../../console-web/', import.meta.url));

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class ConsoleServer {
  private app: FastifyInstance | null = null;
  readonly fanout = new EventFanout();
  readonly users: UserStore;
  private readonly history: MetricsHistory;
  boundPort = 0;

  constructor(private readonly server: DnswardServer, private readonly options: ConsoleOptions, private readonly log: Logger) {
    this.users = new UserStore(options.usersPath);
    this.history = new MetricsHistory(() => server.snapshot(), server.stats.latency);
  }

  async start(): Promise<void> {
    const o = this.options;
    const app = Fastify({
      // Fastify's own request logs stay out (warnings and errors only); the routes log what matters.
      loggerInstance: this.log.child({ component: 'console' }, { level: 'warn' }),
      trustProxy: false,
      bodyLimit: 64 * 1024,
      ...(o.tls ? { https: { cert: o.tls.cert, key: o.tls.key } } : {}),
    } as never) as unknown as FastifyInstance;
    const c: ConsoleContext = {
      server: this.server,
      users: this.users,
      sessions: new SessionStore(o.sessionTimeoutMs),
      limiter: new LoginLimiter(o.loginLimits),
      history: this.history,
      fanout: this.fanout,
      secureCookies: o.tls !== undefined,
      log: this.log.child({ component: 'console' }),
      startedAt: Date.now(),
    };
    await app.register(cookie);
    await app.register(swagger, {
      openapi: {
        info: { title: 'dnsward console API', version: packageVersion(), description: 'Log in with POST /api/login (session cookie; send the returned csrfToken as x-csrf-token on changes), or send `Authorization: Bearer <token>` (tokens: POST /api/tokens or `dnsward token create`).' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } } },
        security: [{ bearer: [] }, { session: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/api/docs' });
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      if (!request.url.startsWith('/api/') || request.url.startsWith('/api/docs')) return;
      const access = request.routeOptions.config?.access ?? 'viewer';
      if (access === 'public') return;
      const who = this.authenticate(request, c);
      if (who === undefined) return fail(reply, 401, 'log in first (session cookie or Authorization: Bearer token)');
      if (who.csrf !== undefined && UNSAFE_METHODS.has(request.method) && request.headers['x-csrf-token'] !== who.csrf) return fail(reply, 403, 'missing or wrong x-csrf-token');
      if (access === 'admin' && who.role !== 'admin') return fail(reply, 403, `${who.user} is a viewer: this needs the admin role`);
      request.identity = who;
    });
    authRoutes(app, c);
    dataRoutes(app, c);
    actionRoutes(app, c);
    await app.register(fastifyStatic, { root: [WEB_BUILD, WEB_SOURCE], prefix: '/', index: ['index.html'], wildcard: false, cacheControl: false });
    app.setNotFoundHandler((request, reply) => {
      if (request.url.startsWith('/api/')) return fail(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`);
      // The UI routes with #fragments; any other path gets the page too.
      return reply.sendFile('index.html', WEB_SOURCE);
    });
    await app.listen({ host: o.listen.host, port: o.listen.port });
    const bound = app.server.address();
    this.boundPort = typeof bound === 'object' && bound !== null ? bound.port : o.listen.port;
    this.app = app;
    this.history.start();
  }

  private authenticate(request: FastifyRequest, c: ConsoleContext): Identity | undefined {
    const auth = request.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const t = m ? c.users.checkToken(m[1]) : undefined;
      return t === undefined ? undefined : { user: t.name, role: t.role };
    }
    const session = c.sessions.get(request.cookies[SESSION_COOKIE]);
    return session === undefined ? undefined : { user: session.user, role: session.role, csrf: session.csrf, sessionId: session.id };
  }

  async stop(): Promise<void> {
    this.history.stop();
    await this.app?.close();
    this.app = null;
    this.users.close();
  }
}
