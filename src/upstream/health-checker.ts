/**
 * Active health checks: every `intervalMs`, each upstream gets a probe query. Any well-formed
 * answer counts as alive (as dnsdist does by default); with `mustResolve`, only NOERROR and
 * NXDOMAIN do. A failed probe counts like a failed query toward marking the upstream down,
 * and a good one brings a down upstream back.
 */
import { nameToWire } from '../dns/name.js';
import { Rcode } from '../dns/wire.js';
import { Exchange } from './exchange.js';
import type { Upstream } from './upstream.js';

export interface HealthCheckOptions {
  intervalMs: number;
  timeoutMs: number;
  name: string;
  qtype: number;
  mustResolve: boolean;
}

export function buildProbe(name: string, qtype: number): Buffer {
  const qname = nameToWire(name);
  const probe = Buffer.alloc(12 + qname.length + 4);
  probe.writeUInt16BE(0x0100, 2); // RD
  probe.writeUInt16BE(1, 4);
  qname.copy(probe, 12);
  probe.writeUInt16BE(qtype, 12 + qname.length);
  probe.writeUInt16BE(1, 14 + qname.length);
  return probe;
}

export class HealthChecker {
  private timer: NodeJS.Timeout | null = null;
  private readonly probe: Buffer;

  constructor(
    private readonly options: HealthCheckOptions,
    private readonly upstreams: () => Upstream[],
  ) {
    this.probe = buildProbe(options.name, options.qtype);
  }

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => this.checkAll(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  checkAll(): void {
    const now = performance.now();
    for (const upstream of this.upstreams()) this.check(upstream, now);
  }

  private check(upstream: Upstream, now: number): void {
    const wire = Buffer.from(this.probe);
    const ex = new Exchange(wire, wire.length, (_ex, error, _answer, scan) => {
      const ok =
        error === null &&
        scan !== null &&
        (!this.options.mustResolve || scan.rcode === Rcode.NOERROR || scan.rcode === Rcode.NXDOMAIN);
      if (ok) upstream.markSuccess();
      else upstream.markFailure();
    });
    upstream.send(ex, now, this.options.timeoutMs);
  }
}
