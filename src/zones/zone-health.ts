/**
 * Health checks of balanced local-zone targets, per target (address and port) every interval:
 * a TCP connect (tcp), an HTTP GET of a path answered 2xx or 3xx (http), or a DNS question over
 * UDP answered NOERROR with at least one answer record (dns). `fall` consecutive failures take
 * the target out of the answers, `rise` successes bring it back. Each target is checked once
 * however many records name it (per kind of check). Targets start healthy. One socket per
 * target at most at a time, always closed by the timeout; timers unref'd so they never hold the
 * process up.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { buildProbe } from '../upstream/health-checker.js';
import type { CheckTarget, HealthCheckRule, SetBalance } from './balance.js';

const RCODE_MASK = 0x000f;
const QR = 0x8000;

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
        const r = b.check!;
        const key = `${r.type}|${target.host}|${target.port}|${r.path ?? ''}|${r.query === null ? '' : `${r.query.name}/${r.query.type}`}`;
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
    let done = false;
    let close = () => {};
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.busy = false;
      close();
      this.record(c, ok);
    };
    // One timer bounds every kind of check, whatever the socket does.
    const timer = setTimeout(() => finish(false), c.rule.timeout);
    timer.unref();
    if (c.rule.type === 'http') close = this.http(c, finish);
    else if (c.rule.type === 'dns') close = this.dns(c, finish);
    else close = this.tcp(c, finish);
  }

  private tcp(c: Checked, finish: (ok: boolean) => void): () => void {
    const socket = net.connect({ host: c.target.host, port: c.target.port });
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    return () => socket.destroy();
  }

  /** GET of the path, no keep-alive (a fresh connection each time: that is what is checked); 2xx and 3xx are healthy. */
  private http(c: Checked, finish: (ok: boolean) => void): () => void {
    const req = http.request(
      {
        host: c.target.host,
        port: c.target.port,
        path: c.rule.path ?? '/',
        method: 'GET',
        agent: false,
        headers: { 'user-agent': 'dnsward-health-check' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        finish(status >= 200 && status < 400);
      },
    );
    req.once('error', () => finish(false));
    req.end();
    return () => req.destroy();
  }

  /** The configured question over UDP: healthy on an answer to it (same ID) with NOERROR and at least one record. */
  private dns(c: Checked, finish: (ok: boolean) => void): () => void {
    const q = c.rule.query!;
    const probe = buildProbe(q.name, q.type);
    const id = randomInt(0, 65536);
    probe.writeUInt16BE(id, 0);
    const socket = dgram.createSocket(net.isIPv6(c.target.host) ? 'udp6' : 'udp4');
    socket.on('message', (msg) => {
      // Anything else (a stray or spoofed datagram) is ignored; the timeout ends the check.
      if (msg.length < 12 || msg.readUInt16BE(0) !== id || (msg.readUInt16BE(2) & QR) === 0) return;
      finish((msg.readUInt16BE(2) & RCODE_MASK) === 0 && msg.readUInt16BE(6) > 0);
    });
    socket.once('error', () => finish(false));
    socket.send(probe, c.target.port, c.target.host, (err) => {
      if (err) finish(false);
    });
    return () => {
      try {
        socket.close();
      } catch {
        // Already closed after an error.
      }
    };
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
