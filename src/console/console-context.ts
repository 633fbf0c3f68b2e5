/** What the console's routes need from the running dnsward, in one place. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { LoginLimiter } from './auth/login-limiter.js';
import type { ConsoleBackend } from './console-backend.js';
import type { Identity } from './auth/request-auth.js';
import type { SessionStore } from './auth/sessions.js';
import type { UserStore } from './auth/user-store.js';
import type { EventFanout } from './live/event-fanout.js';
import type { LiveStreams } from './live/live-streams.js';
import type { MetricsHistory } from './live/metrics-history.js';

export type { Identity } from './auth/request-auth.js';

/** Who may call a route: 'public' (no login), 'viewer' (any user) or 'admin'. */
export type Access = 'public' | 'viewer' | 'admin';

export interface ConsoleContext {
  server: ConsoleBackend;
  users: UserStore;
  sessions: SessionStore;
  limiter: LoginLimiter;
  history: MetricsHistory;
  fanout: EventFanout;
  streams: LiveStreams;
  secureCookies: boolean;
  log: Logger;
  startedAt: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
  interface FastifyContextConfig {
    /** Who may call the route; a route that does not say needs a login ('viewer'). */
    access?: Access;
  }
}

export function identity(request: FastifyRequest): Identity {
  if (request.identity === undefined) throw new Error('route reached without an identity');
  return request.identity;
}

export function fail(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).send({ error });
}
