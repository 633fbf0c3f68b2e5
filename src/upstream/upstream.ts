/**
 * One upstream resolver: its transports, its health, and its counters. Health is passive
 * (timeouts and errors on real queries) and active (periodic probes, see health-checker.ts):
 * `maxFailures` consecutive failures mark it down, one good answer marks it up again.
 *
 * A timeout counts as a failure only when the upstream answered nothing since that query was
 * sent: an upstream that answers other queries is alive, and chose to ignore this one (a
 * resolver may drop queries it will not serve: a denied zone, a class it does not serve, a rate
 * limit), as unbound's infra cache forgets timeouts when a reply comes. When silent timeouts
 * alone reach `maxFailures`, one probe (the health check's question) decides: the upstream is
 * marked down only if the probe goes unanswered too. So clients cannot get an upstream marked
 * down with queries it ignores; errors (ECONNREFUSED) and failed probes still count at once.
 */
import type { ScannedResponse } from '../dns/response-scanner.js';
import type { NativeUdpBatch } from '../net/native-udp.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { LatencyHistogram } from '../util/histogram.js';
import { DohTransport } from './doh-transport.js';
import { Exchange, type TransportEvents } from './exchange.js';
import { TcpTransport } from './tcp-transport.js';
import { UdpTransport } from './udp-transport.js';

/** Errors that are our own shortage (a TCP connect under EMFILE), not the upstream's failure. */
const LOCAL_SHORTAGE = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

export interface UpstreamOptions {
  address: HostPort;
  /** udp (with TCP for truncated answers), tcp, tls (DoT) or https (DoH). */
  protocol: 'udp' | 'tcp' | 'tls' | 'https';
  /** DoH: the path queries are posted to. */
  path?: string;
  /** DoT and DoH: the CA the certificate is checked against (else Node's bundle), and the name it must carry (else the address). */
  tls?: { ca?: string; serverName?: string };
  sockets: number;
  rotateSocketsAfter: number;
  tcpIdleMs: number;
  maxFailures: number;
  /** Batched native UDP sockets, or null for node:dgram. */
  native: NativeUdpBatch | null;
  /** Queries waiting on one socket or TCP connection at most (default 4096). */
  maxInFlightPerSocket?: number;
  /** The question that confirms an upstream is down after silent timeouts (the health check's). */
  probe?: { wire: Buffer; timeoutMs: number } | null;
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
  /** Timeouts not held against the upstream: it answered other queries since this one was sent. */
  timeoutsWhileAnswering: number;
  latency: LatencyHistogram;
}

export type UpstreamOutcome = (
  upstream: Upstream,
  ex: Exchange,
  error: string | null,
  answer: Buffer | null,
  scan: ScannedResponse | null,
) => void;

export class Upstream {
  readonly name: string;
  healthy = true;
  consecutiveFailures = 0;
  outstanding = 0;
  readonly stats: UpstreamStats = {
    queries: 0,
    answers: 0,
    timeouts: 0,
    errors: 0,
    mismatched: 0,
    tcpFallbacks: 0,
    timeoutsWhileAnswering: 0,
    latency: new LatencyHistogram(),
  };
  /** performance.now() of the last answer taken from this upstream. */
  private lastAnswerAt = -Infinity;
  private confirming = false;
  private readonly udp: UdpTransport | null;
  /** TCP (beside UDP, or alone), TLS or HTTPS: the connection-oriented transport every query can take. */
  private readonly tcp: TcpTransport | DohTransport;

  constructor(
    readonly options: UpstreamOptions,
    onHealthChange: (u: Upstream) => void,
  ) {
    this.name = formatHostPort(options.address);
    this.onHealthChange = onHealthChange;
    const events: TransportEvents = {
      answer: (ex, answer) => this.onAnswer(ex, answer),
      failed: (ex, error) => this.onFailed(ex, error),
      mismatch: () => this.stats.mismatched++,
    };
    const { host, port, family } = options.address;
    const maxInFlight = options.maxInFlightPerSocket ?? 4096;
    this.udp =
      options.protocol === 'udp'
        ? new UdpTransport(
            host,
            port,
            family,
            options.sockets,
            options.rotateSocketsAfter,
            events,
            options.native,
            maxInFlight,
          )
        : null;
    const tlsOptions = { ca: options.tls?.ca, servername: options.tls?.serverName };
    this.tcp =
      options.protocol === 'https'
        ? new DohTransport(
            { host, port, path: options.path ?? '/dns-query', ...tlsOptions },
            options.tcpIdleMs,
            events,
            maxInFlight,
          )
        : new TcpTransport(
            host,
            port,
            options.tcpIdleMs,
            events,
            maxInFlight,
            options.protocol === 'tls' ? tlsOptions : null,
          );
  }

  /** Connections the TCP, TLS or HTTPS transport has opened (a count that grows on every reconnect). */
  get connections(): number {
    return this.tcp.connections;
  }

  /** Queries refused at once because every socket (or the connection) had its in-flight limit waiting. */
  get inFlightLimited(): number {
    return (this.udp?.refused ?? 0) + this.tcp.refused;
  }

  /** Upstream sockets that could not be opened (e.g. no file descriptors left). */
  get socketOpenFailures(): number {
    return this.udp?.openFailures ?? 0;
  }

  private readonly onHealthChange: (u: Upstream) => void;

  /**
   * Sends `ex`; its outcome comes back through `ex.onOutcome`. Returns why not when it could
   * not be sent at all (then there is no outcome: the caller tries elsewhere or gives up).
   */
  send(ex: Exchange, now: number, timeoutMs: number, forceTcp = false): string | null {
    ex.sentAt = now;
    ex.deadline = now + timeoutMs;
    ex.viaTcp = forceTcp || this.udp === null;
    ex.blameUpstream = false;
    const refused = ex.viaTcp ? this.tcp.send(ex) : this.udp!.send(ex);
    if (refused !== null) return refused;
    this.outstanding++;
    this.stats.queries++;
    return null;
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
    if (this.healthy && this.consecutiveFailures >= this.options.maxFailures) this.markDown();
  }

  /** A failed try of a client query: counts only when `ex.blameUpstream` (see the top of this file). */
  markQueryFailure(ex: Exchange): void {
    if (!ex.blameUpstream) return;
    if (!ex.timedOut || !this.options.probe) return this.markFailure();
    this.consecutiveFailures++;
    if (this.healthy && this.consecutiveFailures >= this.options.maxFailures) this.confirmDown(this.options.probe);
  }

  private markDown(): void {
    this.healthy = false;
    this.onHealthChange(this);
  }

  /** One probe at a time; any answer to it shows the upstream alive (markSuccess). */
  private confirmDown(probe: { wire: Buffer; timeoutMs: number }): void {
    if (this.confirming) return;
    this.confirming = true;
    const wire = Buffer.from(probe.wire);
    const ex = new Exchange(wire, wire.length, (_ex, error) => {
      this.confirming = false;
      if (error === null) this.markSuccess();
      else if (this.healthy && this.consecutiveFailures >= this.options.maxFailures) this.markDown();
    });
    if (this.send(ex, performance.now(), probe.timeoutMs) !== null) {
      this.confirming = false;
      this.markDown();
    }
  }

  /** Returns false, and keeps waiting, when the answer is not for this exchange's question. */
  private onAnswer(ex: Exchange, answer: Buffer): boolean {
    const scan = ex.accept(answer);
    if (typeof scan === 'string') {
      this.stats.mismatched++;
      return false;
    }
    const now = performance.now();
    this.lastAnswerAt = now;
    if (scan.truncated && !ex.viaTcp) {
      // RFC 7766 §5: a truncated UDP answer is retried over TCP, on the same upstream.
      this.stats.tcpFallbacks++;
      this.outstanding--;
      const refused = this.send(ex, ex.sentAt, ex.deadline - ex.sentAt, true);
      if (refused !== null) ex.onOutcome(ex, `${this.name}: ${refused}`, null, null);
      return true;
    }
    this.outstanding--;
    this.stats.answers++;
    this.stats.latency.observe(now - ex.sentAt);
    ex.onOutcome(ex, null, answer, scan);
    return true;
  }

  private onFailed(ex: Exchange, error: string): void {
    this.outstanding--;
    const timedOut = error === 'timeout';
    ex.timedOut = timedOut;
    if (!timedOut) {
      this.stats.errors++;
      // Out of descriptors or buffers here says nothing about the upstream.
      ex.blameUpstream = !LOCAL_SHORTAGE.has(error);
    } else {
      this.stats.timeouts++;
      ex.blameUpstream = this.lastAnswerAt < ex.sentAt;
      if (!ex.blameUpstream) this.stats.timeoutsWhileAnswering++;
    }
    ex.onOutcome(ex, `${this.name}: ${error}`, null, null);
  }
}
