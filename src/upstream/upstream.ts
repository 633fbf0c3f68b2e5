/**
 * One upstream resolver: its transports, its health, and its counters. Health is passive
 * (timeouts and errors on real queries) and active (periodic probes, see health-checker.ts):
 * `maxFailures` consecutive failures mark it down, one good answer marks it up again.
 */
import type { ScannedResponse } from '../dns/response-scanner.js';
import type { NativeUdpBatch } from '../server/native-udp.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { LatencyHistogram } from '../util/histogram.js';
import type { Exchange, TransportEvents } from './exchange.js';
import { TcpTransport } from './tcp-transport.js';
import { UdpTransport } from './udp-transport.js';

export interface UpstreamOptions {
  address: HostPort;
  protocol: 'udp' | 'tcp';
  sockets: number;
  rotateSocketsAfter: number;
  tcpIdleMs: number;
  maxFailures: number;
  /** Batched native UDP sockets, or null for node:dgram. */
  native: NativeUdpBatch | null;
}

export interface UpstreamStats {
  queries: number;
  answers: number;
  timeouts: number;
  errors: number;
  /** Answers refused because their ID, source or question matched nothing in flight. */
  mismatched: number;
  /** Answers that came back truncated over UDP and were retried over TCP. */
  tcpFallbacks: number;
  latency: LatencyHistogram;
}

export type UpstreamOutcome = (upstream: Upstream, ex: Exchange, error: string | null, answer: Buffer | null, scan: ScannedResponse | null) => void;

export class Upstream {
  readonly name: string;
  healthy = true;
  consecutiveFailures = 0;
  outstanding = 0;
  readonly stats: UpstreamStats = { queries: 0, answers: 0, timeouts: 0, errors: 0, mismatched: 0, tcpFallbacks: 0, latency: new LatencyHistogram() };
  private readonly udp: UdpTransport | null;
  private readonly tcp: TcpTransport;

  constructor(readonly options: UpstreamOptions, onHealthChange: (u: Upstream) => void) {
    this.name = formatHostPort(options.address);
    this.onHealthChange = onHealthChange;
    const events: TransportEvents = {
      answer: (ex, answer) => this.onAnswer(ex, answer),
      failed: (ex, error) => this.onFailed(ex, error),
      mismatch: () => this.stats.mismatched++,
    };
    const { host, port, family } = options.address;
    this.udp = options.protocol === 'udp' ? new UdpTransport(host, port, family, options.sockets, options.rotateSocketsAfter, events, options.native) : null;
    this.tcp = new TcpTransport(host, port, options.tcpIdleMs, events);
  }

  private readonly onHealthChange: (u: Upstream) => void;

  /** Sends `ex`; its outcome comes back through `ex.onOutcome`. */
  send(ex: Exchange, now: number, timeoutMs: number, forceTcp = false): void {
    ex.sentAt = now;
    ex.deadline = now + timeoutMs;
    ex.viaTcp = forceTcp || this.udp === null;
    this.outstanding++;
    this.stats.queries++;
    if (ex.viaTcp) this.tcp.send(ex);
    else this.udp!.send(ex);
  }

  sweep(now: number): void {
    this.udp?.sweep(now);
    this.tcp.sweep(now);
  }

  close(): void {
    this.udp?.close();
    this.tcp.close();
  }

  get inFlight(): number {
    return (this.udp?.inFlight ?? 0) + this.tcp.inFlight;
  }

  markSuccess(): void {
    this.consecutiveFailures = 0;
    if (!this.healthy) {
      this.healthy = true;
      this.onHealthChange(this);
    }
  }

  markFailure(): void {
    this.consecutiveFailures++;
    if (this.healthy && this.consecutiveFailures >= this.options.maxFailures) {
      this.healthy = false;
      this.onHealthChange(this);
    }
  }

  /** Returns false, and keeps waiting, when the answer is not for this exchange's question. */
  private onAnswer(ex: Exchange, answer: Buffer): boolean {
    const scan = ex.accept(answer);
    if (typeof scan === 'string') {
      this.stats.mismatched++;
      return false;
    }
    if (scan.truncated && !ex.viaTcp) {
      // RFC 7766 §5: a truncated UDP answer is retried over TCP, on the same upstream.
      this.stats.tcpFallbacks++;
      this.outstanding--;
      this.send(ex, ex.sentAt, ex.deadline - ex.sentAt, true);
      return true;
    }
    this.outstanding--;
    this.stats.answers++;
    this.stats.latency.observe(performance.now() - ex.sentAt);
    ex.onOutcome(ex, null, answer, scan);
    return true;
  }

  private onFailed(ex: Exchange, error: string): void {
    this.outstanding--;
    if (error === 'timeout') this.stats.timeouts++;
    else this.stats.errors++;
    ex.onOutcome(ex, `${this.name}: ${error}`, null, null);
  }
}
