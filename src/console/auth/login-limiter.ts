/**
 * Failed-login limits: per client address and per user name, a sliding count of failures over
 * a window; past the limit, logins are refused (429) until the window passes. An attempt is
 * counted when it begins, before its password is checked, and forgotten only when it succeeds:
 * so many attempts in parallel cannot all be checked before the first one fails. Bounded maps
 * (cleared when full: a flood of addresses cannot grow memory).
 */
export interface LoginLimits {
  perAddress: number;
  perUser: number;
  windowMs: number;
}

const MAX_KEYS = 50_000;

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limits: LoginLimits, private readonly now: () => number = Date.now) {}

  /** Milliseconds until a login may be tried again from this address for this user (0: now). */
  retryAfter(address: string, user: string): number {
    const t = this.now();
    const wait = (key: string, limit: number) => {
      const list = this.recent(key, t);
      return list.length >= limit ? list[list.length - limit] + this.limits.windowMs - t : 0;
    };
    return Math.max(wait(`a:${address}`, this.limits.perAddress), wait(`u:${user}`, this.limits.perUser));
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
    if (this.failures.size >= MAX_KEYS) this.failures.clear();
    for (const key of [`a:${address}`, `u:${user}`]) {
      const list = this.recent(key, t);
      list.push(t);
      this.failures.set(key, list.slice(-100));
    }
  }

  succeed(address: string, user: string): void {
    this.failures.delete(`a:${address}`);
    this.failures.delete(`u:${user}`);
  }

  private recent(key: string, t: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => t - at < this.limits.windowMs);
  }
}
