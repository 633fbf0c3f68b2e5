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
import Fastify, { type FastifyInstance } from 'fastify';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../util/address.js';
import { capConnections, type ConnectionCounters } from '../util/connection-caps.js';
import { listenOrExplain } from '../util/listen.js';
import { packageVersion } from '../util/package-version.js';
import { LoginLimiter } from './auth/login-limiter.js';
import { credentialOf, identify, SESSION_COOKIE } from './auth/request-auth.js';
import { SessionStore } from './auth/sessions.js';
import { UserStore } from './auth/user-store.js';
import type { ConsoleBackend } from './console-backend.js';
import { type Access, type ConsoleContext, fail } from './console-context.js';
import { hostChecker } from './host-check.js';
import { EventFanout } from './live/event-fanout.js';
import { LiveStreams } from './live/live-streams.js';
import { MetricsHistory } from './live/metrics-history.js';
import { actionRoutes } from './routes/action-routes.js';
import { authRoutes } from './routes/auth-routes.js';
import { dataRoutes } from './routes/data-routes.js';
import { feedRoutes } from './routes/feed-routes.js';
import { incidentRoutes } from './routes/incident-routes.js';
import { listRoutes } from './routes/list-routes.js';
import { queryRoutes } from './routes/query-routes.js';
import { threatRoutes } from './routes/threat-routes.js';

export interface ConsoleListenerLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface ConsoleOptions {
  listen: HostPort;
  tls?: { cert: string; key: string };
  sessionTimeoutMs: number;
  usersPath: string;
  loginLimits: { perAddress: number; perUser: number; windowMs: number };
  /** Host names (NAME or NAME:PORT) the console answers under besides its own address. */
  allowedHosts: readonly string[];
  limits: ConsoleListenerLimits;
}

// The UI's files: HTML and CSS from the source folder, the compiled script from dist/console-web
// (rooted at src/, as the UI imports the server's type-only modules: events/, querylog/, …).
const WEB_SOURCE = fileURLToPath(new URL('../../../src/console/web/', import.meta.url));
const WEB_BUILD = fileURLToPath(new URL('../../console-web/console/web/', import.meta.url));

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const HEADERS_TIMEOUT_MS = 10_000;
const TIMEOUT_CHECK_MS = 1000;
const PUBLIC: Access = 'public';

// The UI is bundled: its own scripts and styles only, nothing inline, no frames.
const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
// Swagger UI sets inline styles and shows data: images; its scripts are files too.
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export class ConsoleServer {
  private app: FastifyInstance | null = null;
  readonly fanout = new EventFanout();
  readonly users: UserStore;
  private readonly history: MetricsHistory;
  private streams: LiveStreams | null = null;
  private offRecheck: (() => void) | null = null;
  /** Connections refused at the caps and destroyed when idle (for tests and diagnosis). */
  counters: ConnectionCounters = { refused: 0, idleClosed: 0, evicted: 0 };
  boundPort = 0;

  constructor(
    private readonly server: ConsoleBackend,
    private readonly options: ConsoleOptions,
    private readonly log: Logger,
  ) {
    this.users = new UserStore(options.usersPath);
    this.history = new MetricsHistory(() => server.snapshot(), server.stats.latency);
  }

  async start(): Promise<void> {
    const o = this.options;
    const limits = o.limits;
    const app = Fastify({
      // Fastify's own request logs stay out (warnings and errors only); the routes log what matters.
      loggerInstance: this.log.child({ component: 'console' }, { level: 'warn' }),
      trustProxy: false,
      bodyLimit: 64 * 1024,
      // An idle connection (kept alive or never used) is destroyed after idleTimeout; a request
      // whose headers or body trickle in is answered 408 and destroyed.
      connectionTimeout: limits.idleTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node looks for requests past headersTimeout/requestTimeout this often (default 30 s).
      ...(o.tls
        ? { https: { cert: o.tls.cert, key: o.tls.key, connectionsCheckingInterval: TIMEOUT_CHECK_MS } }
        : { http: { connectionsCheckingInterval: TIMEOUT_CHECK_MS } }),
    } as never) as unknown as FastifyInstance;
    app.server.headersTimeout = Math.min(limits.requestTimeoutMs, HEADERS_TIMEOUT_MS);
    this.counters = capConnections(app.server, {
      maxConnections: limits.maxConnections,
      maxPerAddress: limits.maxConnectionsPerAddress,
      idleTimeoutMs: limits.idleTimeoutMs,
    });
    const sessions = new SessionStore(o.sessionTimeoutMs);
    const c: ConsoleContext = {
      server: this.server,
      users: this.users,
      sessions,
      limiter: new LoginLimiter(o.loginLimits, Date.now, (name) => this.users.roleOf(name) !== undefined),
      history: this.history,
      fanout: this.fanout,
      streams: (this.streams = new LiveStreams(
        (credential) => identify(this.users, sessions, credential, false) !== undefined,
      )),
      secureCookies: o.tls !== undefined,
      log: this.log.child({ component: 'console' }),
      startedAt: Date.now(),
    };
    // Streams end within a second of a change made outside this process, or of a session's expiry.
    this.offRecheck = this.history.onSample(() => c.streams.recheck());
    await app.register(cookie);
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'dnsward console API',
          version: packageVersion(),
          description:
            'Log in with POST /api/login (session cookie; send the returned csrfToken as x-csrf-token on changes), or send `Authorization: Bearer <token>` (tokens: POST /api/tokens or `dnsward token create`).',
        },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer' },
            session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          },
        },
        security: [{ bearer: [] }, { session: [] }],
      },
    });
    // Set once bound (port 0 in tests binds another port): until then no Host is accepted.
    let hostAllowed: (host: string | undefined) => boolean = () => false;
    // Access is decided on the route the router matched (its config), after the router decoded
    // the path: never on the raw URL, which %61pi, // or /x/../ spell differently.
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      const route = request.is404 ? undefined : request.routeOptions.url;
      reply.header('content-security-policy', route?.startsWith('/api/docs') ? DOCS_CSP : UI_CSP);
      if (!hostAllowed(request.headers.host))
        return fail(reply, 421, 'this console is not served under that host name (console.allowedHosts lists more)');
      // No route: the not-found handler answers 404 and nothing else.
      if (route === undefined) return;
      const access = request.routeOptions.config.access ?? 'viewer';
      if (access === 'public') return;
      const credential = credentialOf(request);
      const who = credential === undefined ? undefined : identify(c.users, c.sessions, credential, true);
      if (who === undefined) return fail(reply, 401, 'log in first (session cookie or Authorization: Bearer token)');
      if (who.csrf !== undefined && UNSAFE_METHODS.has(request.method) && request.headers['x-csrf-token'] !== who.csrf)
        return fail(reply, 403, 'missing or wrong x-csrf-token');
      if (access === 'admin' && who.role !== 'admin')
        return fail(reply, 403, `${who.user} is a viewer: this needs the admin role`);
      request.identity = who;
    });
    authRoutes(app, c);
    dataRoutes(app, c);
    threatRoutes(app, c);
    incidentRoutes(app, c);
    feedRoutes(app, c);
    listRoutes(app, c);
    queryRoutes(app, c);
    actionRoutes(app, c);
    // Every route says who may call it (config.access); one that does not needs a login. Only
    // the UI's files and the API documentation, in this context of their own, are public
    // without saying so.
    await app.register(async (publicFiles) => {
      publicFiles.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), access: route.config?.access ?? PUBLIC };
      });
      await publicFiles.register(swaggerUi, { routePrefix: '/api/docs' });
      await publicFiles.register(fastifyStatic, {
        root: [WEB_BUILD, WEB_SOURCE],
        prefix: '/',
        index: ['index.html'],
        wildcard: false,
        cacheControl: false,
      });
    });
    // The UI routes with #fragments: a path that is no route is a 404, whatever it looks like.
    app.setNotFoundHandler((request, reply) =>
      fail(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`),
    );
    await listenOrExplain(
      {
        listen: async () => {
          await app.listen({ host: o.listen.host, port: o.listen.port });
        },
      },
      formatHostPort(o.listen),
      'console',
    );
    const bound = app.server.address();
    this.boundPort = typeof bound === 'object' && bound !== null ? bound.port : o.listen.port;
    hostAllowed = hostChecker(o.listen.host, this.boundPort, o.allowedHosts, o.tls !== undefined);
    this.app = app;
    this.history.start();
  }

  async stop(): Promise<void> {
    this.history.stop();
    this.offRecheck?.();
    this.streams?.closeAll();
    await this.app?.close();
    this.app = null;
    this.users.close();
  }
}
