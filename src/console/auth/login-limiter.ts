/**
 * Failed-login limits: per client and per user name, a sliding count of failures over a window;
 * past the limit, logins are refused (429) until the window passes. An attempt is counted when
 * it begins, before its password is checked, and forgotten only when it succeeds: so many
 * attempts in parallel cannot all be checked before the first one fails.
 *
 * A client is what a connection counts against (connection-owner.ts): an IPv4 address, an IPv6
 * /64 (a host has a whole /64 to try from). Bounds: at most MAX_KEYS clients and MAX_KEYS user
 * names, each with its last MAX_FAILURES failures; when a map is full its least recently failed
 * entry goes. The two maps are apart, so a flood from many addresses cannot wipe the count of
 * the user it is guessing for; and names that are no user share one entry, so a flood of made-up
 * names cannot push a real user's count out (the user map holds at most the users plus one).
 */
import { connectionOwner } from '../../util/connection-owner.js';

export interface LoginLimits {
  perAddress: number;
  perUser: number;
  windowMs: number;
}

const MAX_KEYS = 50_000;
const MAX_FAILURES = 100;

/** Failure times per key, least recently failed first (Map order: a failure moves its key last). */
class FailureLog {
  private readonly times = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  recent(key: string, t: number): number[] {
    return (this.times.get(key) ?? []).filter((at) => t - at < this.windowMs);
  }

  add(key: string, t: number): void {
    const list = this.recent(key, t);
    list.push(t);
    this.times.delete(key);
    if (this.times.size >= MAX_KEYS) this.times.delete(this.times.keys().next().value!);
    this.times.set(key, list.slice(-MAX_FAILURES));
  }

  forget(key: string): void {
    this.times.delete(key);
  }

  get size(): number {
    return this.times.size;
  }
}

export class LoginLimiter {
  private readonly clients: FailureLog;
  private readonly users: FailureLog;

  /** `isUser`: whether a name is one of the console's users (others are counted as one). */
  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
    private readonly isUser: (name: string) => boolean = () => true,
  ) {
    this.clients = new FailureLog(limits.windowMs);
    this.users = new FailureLog(limits.windowMs);
  }

  /** Milliseconds until a login may be tried again from this address for this user (0: now). */
  retryAfter(address: string, user: string): number {
    const t = this.now();
    const wait = (log: FailureLog, key: string, limit: number) => {
      const list = log.recent(key, t);
      return list.length >= limit ? list[list.length - limit] + this.limits.windowMs - t : 0;
    };
    return Math.max(
      wait(this.clients, connectionOwner(address), this.limits.perAddress),
      wait(this.users, this.userKey(user), this.limits.perUser),
    );
  }

  /**
   * Starts a login: 0 and the attempt counted as failed until `succeed` says otherwise, or the
   * milliseconds to wait (nothing counted).
   */
  begin(address: string, user: string): number {
    const wait = this.retryAfter(address, user);
    if (wait === 0) this.fail(address, user);
    return wait;
  }

  fail(address: string, user: string): void {
    const t = this.now();
    this.clients.add(connectionOwner(address), t);
    this.users.add(this.userKey(user), t);
  }

  succeed(address: string, user: string): void {
    this.clients.forget(connectionOwner(address));
    this.users.forget(this.userKey(user));
  }

  private userKey(name: string): string {
    // A real user's name cannot collide: the key of the others is not a valid user name.
    return this.isUser(name) ? `u:${name}` : 'unknown';
  }

  /** Clients and user names with failures remembered (for tests and bounds). */
  tracked(): { clients: number; users: number } {
    return { clients: this.clients.size, users: this.users.size };
  }
}
