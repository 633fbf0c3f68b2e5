/**
 * Health checks of balanced local-zone targets: a TCP connect per target (address and port) every
 * interval; `fall` consecutive failures take it out of the answers, `rise` successes bring it
 * back. Each target is checked once however many records name it. Targets start healthy. One
 * socket per target at most at a time; timers unref'd so they never hold the process up.
 */
import net from 'node:net';
import type { CheckTarget, HealthCheckRule, SetBalance } from './balance.js';

interface Checked {
  target: CheckTarget;
  rule: HealthCheckRule;
  flags: Array<{ healthy: Uint8Array; index: number }>;
  up: boolean;
  fails: number;
  passes: number;
  busy: boolean;
}

export class ZoneHealth {
  private readonly checked = new Map<string, Checked>();
  private timers: NodeJS.Timeout[] = [];
  /** Transitions, for logs and tests. */
  downs = 0;
  ups = 0;

  constructor(balances: SetBalance[]) {
    for (const b of balances) {
      if (b.check === null) continue;
      b.targets.forEach((target, index) => {
        if (target === null) return;
        const key = `${target.host}|${target.port}`;
        let c = this.checked.get(key);
        if (c === undefined) {
          c = { target, rule: b.check!, flags: [], up: true, fails: 0, passes: 0, busy: false };
          this.checked.set(key, c);
        }
        c.flags.push({ healthy: b.healthy, index });
      });
    }
  }

  get targets(): number {
    return this.checked.size;
  }

  start(): void {
    for (const c of this.checked.values()) {
      const timer = setInterval(() => this.check(c), c.rule.interval);
      timer.unref();
      this.timers.push(timer);
      this.check(c);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private check(c: Checked): void {
    if (c.busy) return;
    c.busy = true;
    const socket = net.connect({ host: c.target.host, port: c.target.port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      c.busy = false;
      socket.destroy();
      this.record(c, ok);
    };
    socket.setTimeout(c.rule.timeout, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  }

  private record(c: Checked, ok: boolean): void {
    if (ok) {
      c.fails = 0;
      c.passes++;
      if (!c.up && c.passes >= c.rule.rise) this.set(c, true);
    } else {
      c.passes = 0;
      c.fails++;
      if (c.up && c.fails >= c.rule.fall) this.set(c, false);
    }
  }

  private set(c: Checked, up: boolean): void {
    c.up = up;
    if (up) this.ups++;
    else this.downs++;
    for (const f of c.flags) f.healthy[f.index] = up ? 1 : 0;
  }
}
