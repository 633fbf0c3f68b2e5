/**
 * Console sessions: random ids in an HttpOnly, SameSite=Strict cookie, each with its own CSRF
 * token that state-changing requests must echo in `x-csrf-token`. Kept in memory (a restart
 * logs everyone out), bounded to MAX_SESSIONS (the oldest goes first), expiring after
 * `ttlMs` without use.
 */
import { randomBytes } from 'node:crypto';
import type { Role } from './user-store.js';

export interface Session {
  id: string;
  user: string;
  role: Role;
  /** The user's stamp when the session was opened (UserStore.stampOf). */
  stamp?: string;
  csrf: string;
  createdAt: number;
  lastUsed: number;
}

const MAX_SESSIONS = 10_000;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string, role: Role, stamp?: string): Session {
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
    const t = this.now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      user,
      role,
      stamp,
      csrf: randomBytes(24).toString('base64url'),
      createdAt: t,
      lastUsed: t,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    if (s === undefined) return undefined;
    const t = this.now();
    if (t - s.lastUsed > this.ttlMs) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastUsed = t;
    return s;
  }

  /** The session if it is still valid, without counting this as a use. */
  peek(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (s === undefined) return undefined;
    if (this.now() - s.lastUsed > this.ttlMs) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  /** Logs a user out everywhere (password change, removal). */
  deleteUser(user: string): void {
    for (const [id, s] of this.sessions) if (s.user === user) this.sessions.delete(id);
  }
}
