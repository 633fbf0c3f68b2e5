/**
 * A legitimate client for benchmarks: PROBE_PER_S queries a second from its own loopback
 * address, nine in ten for cached names (`h0`…`h99` under `hitDomain`) and one in ten new (under
 * `missDomain`), each timed; unanswered after PROBE_TIMEOUT_MS counts as lost. Used by the soak
 * and the flood-latency bench.
 */
import dgram from 'node:dgram';
import { encodeQuery } from '../test/helpers/packets.js';

const PROBE_PER_S = 20;
const PROBE_TIMEOUT_MS = 2000;

export interface ProberOptions {
  source: string;
  hitDomain: string;
  missDomain: string;
}

export function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Legitimate queries at PROBE_PER_S a second, each timed; a query unanswered after PROBE_TIMEOUT_MS is lost. */
export class Prober {
  private readonly socket = dgram.createSocket('udp4');
  private readonly sent = new Map<number, number>();
  private latencies: number[] = [];
  private lost = 0;
  private probes = 0;
  private id = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly port: number,
    private readonly o: ProberOptions,
  ) {
    this.socket.on('message', (msg) => {
      const at = this.sent.get(msg.readUInt16BE(0));
      if (at === undefined) return;
      this.sent.delete(msg.readUInt16BE(0));
      this.latencies.push(performance.now() - at);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.socket.bind(0, this.o.source, r));
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const [id, at] of this.sent)
        if (now - at > PROBE_TIMEOUT_MS) {
          this.sent.delete(id);
          this.lost++;
        }
      this.id = (this.id + 1) & 0xffff;
      // Cached names, and now and then a new one.
      const name =
        this.id % 10 === 0
          ? `probe-${Date.now().toString(36)}-${this.id}.${this.o.missDomain}`
          : `h${this.id % 100}.${this.o.hitDomain}`;
      this.sent.set(this.id, performance.now());
      this.probes++;
      this.socket.send(encodeQuery(name, 'A', { id: this.id }), this.port, '127.0.0.1');
    }, 1000 / PROBE_PER_S);
  }

  take(): { p50Ms: number; p99Ms: number; maxMs: number; probes: number; unanswered: number } {
    const sorted = this.latencies.sort((a, b) => a - b);
    const r = {
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      maxMs: sorted.at(-1) ?? 0,
      probes: this.probes,
      unanswered: this.lost,
    };
    this.latencies = [];
    this.probes = 0;
    this.lost = 0;
    return r;
  }

  stop(): void {
    clearInterval(this.timer);
    this.socket.close();
  }
}
