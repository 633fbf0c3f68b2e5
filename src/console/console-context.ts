/** What the console's routes need from the running dnsward, in one place. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { DnswardServer } from '../server/dnsward-server.js';
import type { LoginLimiter } from './auth/login-limiter.js';
import type { SessionStore } from './auth/sessions.js';
import type { Role, UserStore } from './auth/user-store.js';
import type { EventFanout } from './live/event-fanout.js';
import type { MetricsHistory } from './live/metrics-history.js';

export interface Identity {
  user: string;
  role: Role;
  /** Set for cookie sessions (their CSRF token); absent for bearer tokens. */
  csrf?: string;
  sessionId?: string;
}

export interface ConsoleContext {
  server: DnswardServer;
  users: UserStore;
  sessions: SessionStore;
  limiter: LoginLimiter;
  history: MetricsHistory;
  fanout: EventFanout;
  secureCookies: boolean;
  log: Logger;
  startedAt: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
  interface FastifyContextConfig {
    /** Who may call the route: 'public' (no login), 'viewer' (any user) or 'admin'. */
    access?: 'public' | 'viewer' | 'admin';
  }
}

export function identity(request: FastifyRequest): Identity {
  if (request.identity === undefined) throw new Error('route reached without an identity');
  return request.identity;
}

export function fail(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).send({ error });
}
