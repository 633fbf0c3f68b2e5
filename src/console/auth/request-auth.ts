/**
 * Who a request is, from its credential: a bearer token or a session cookie. A session counts
 * only while its user still exists with the session's role and password (a user removed or
 * changed by `dnsward user` in another process loses its sessions at their next use).
 */
import type { FastifyRequest } from 'fastify';
import type { Role } from './user-store.js';
import type { SessionStore } from './sessions.js';
import type { UserStore } from './user-store.js';

export interface Identity {
  user: string;
  role: Role;
  /** Set for cookie sessions (their CSRF token); absent for bearer tokens. */
  csrf?: string;
  sessionId?: string;
  /** What the request proved it with (a live stream re-checks it). */
  credential: Credential;
}

export const SESSION_COOKIE = 'dnsward_session';

export type Credential = { kind: 'token'; secret: string } | { kind: 'session'; id: string };

/** The credential a request carries; a malformed Authorization header is a credential that fails. */
export function credentialOf(request: FastifyRequest): Credential | undefined {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    return { kind: 'token', secret: m ? m[1] : '' };
  }
  const id = request.cookies[SESSION_COOKIE];
  return id === undefined ? undefined : { kind: 'session', id };
}

/**
 * The identity behind a credential now, or undefined. `touch` marks the use (a token's last use,
 * a session's idle clock); a live stream re-checking its credential does not.
 */
export function identify(
  users: UserStore,
  sessions: SessionStore,
  credential: Credential,
  touch: boolean,
): Identity | undefined {
  if (credential.kind === 'token') {
    const t = credential.secret === '' ? undefined : users.checkToken(credential.secret, touch);
    return t === undefined ? undefined : { user: t.name, role: t.role, credential };
  }
  const session = touch ? sessions.get(credential.id) : sessions.peek(credential.id);
  if (session === undefined) return undefined;
  const current = session.stamp === undefined ? users.roleOf(session.user) : users.stampOf(session.user);
  if (current !== (session.stamp ?? session.role)) {
    sessions.delete(session.id);
    return undefined;
  }
  return { user: session.user, role: session.role, csrf: session.csrf, sessionId: session.id, credential };
}
