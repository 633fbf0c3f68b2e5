/**
 * TCP listener (RFC 7766): 2-byte length framing, many queries in flight per connection with
 * answers sent as they are ready (out of order), and bounds that hold against a hostile client:
 *
 * - connections: `maxConnections` in total and `maxConnectionsPerClient` per client (an IPv4
 *   address, an IPv6 /64: see connection-owner.ts); at
 *   the total cap the least recently active idle connection is closed to make room (so slots
 *   held idle cannot lock new clients out), and only when none is idle is the new one refused;
 * - time: a connection with nothing in flight is closed after `idleTimeoutMs`, a message must
 *   arrive whole within `readTimeoutMs` of its first byte (a trickle does not keep a slot), and a
 *   client that leaves answers unread for `writeTimeoutMs` is closed. Closing destroys the
 *   socket: a half-close would leave the slot held until the client chose to close its side;
 * - queries: at most `maxInFlightPerConnection` in flight per connection; the frame reader stops
 *   emitting there, even for queries already received in the same read;
 * - output: once more than `maxBufferedPerConnection` bytes of answers wait for the client to
 *   read them, the connection is not read (no new queries start) until its buffer drains; the
 *   answers to queries already in flight are still written, so when all connections together
 *   hold more than `maxBufferedTotal`, the one holding the most is closed.
 *
 * Timeouts are checked by one sweep per listener, not a timer per connection or per message.
 *
 * DNS over TLS (RFC 7858) is this listener with a certificate: the TCP connection is counted
 * and capped as it is accepted, then wrapped in a TLS socket, so the caps hold before any
 * handshake work and a handshake must finish within `readTimeoutMs` (it counts as a message
 * being received). The certificate can be replaced without closing connections (`setCertificate`):
 * connections keep the context they shook hands with, new ones get the new one.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Pipeline } from '../pipeline/pipeline.js';
import { QueryContext, type ReplySink, type Transport } from '../pipeline/query-context.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { connectionOwner, ConnectionsByOwner } from '../util/connection-owner.js';
import { FrameReader } from '../net/frame-reader.js';

export interface TcpListenerOptions {
  idleTimeoutMs: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxInFlightPerConnection: number;
  maxBufferedPerConnection: number;
  maxBufferedTotal: number;
}

/** A certificate chain and its key, PEM. */
export interface Certificate {
  cert: string;
  key: string;
}

/** Why the listener closed connections, counted. */
export interface TcpClosedCounts {
  idle: number;
  readTimeout: number;
  writeTimeout: number;
  evicted: number;
  badFrame: number;
  /** Held the most unread answers when all connections together passed `maxBufferedTotal`. */
  overflow: number;
}

export interface TcpListenerStats {
  connections: number;
  /** Refused at the total cap with no idle connection to close. */
  rejectedConnections: number;
  /** Refused because their address already had `maxConnectionsPerClient`. */
  rejectedPerClient: number;
  badFrames: number;
  closed: TcpClosedCounts;
  /** Answers whose connection was gone when they were ready. */
  droppedAnswers: number;
  /** Times a connection stopped being read because its unread answers passed the cap. */
  pausedForOutput: number;
  /** Connections not read right now because their unread answers passed the cap. */
  pausedNow: number;
  /** Bytes of answers waiting for clients to read them now, and the most one connection held. */
  bufferedBytes: number;
  maxBufferedBytes: number;
  /** The most queries one connection had in flight at once. */
  maxInFlightSeen: number;
}

class TcpConnection {
  inFlight = 0;
  /** Reading stopped (socket and frame reader) for the in-flight cap or unread output. */
  held = false;
  /** performance.now() when output passed the cap and was not read since; 0 when not blocked. */
  outputBlockedSince = 0;
  lastActivity: number;
  /** socket.writableLength when last looked at (send, drain, sweep): its share of the total. */
  buffered = 0;
  /** When the message being received began (0: none partial), and which message that was. */
  messageStartedAt = 0;
  messageSerial = -1;
  reader!: FrameReader;
  constructor(
    readonly socket: net.Socket,
    readonly client: string,
    readonly owner: string,
    now: number,
  ) {
    this.lastActivity = now;
  }
}

export class TcpListener implements ReplySink {
  get listenerKey(): string {
    return (this.key ??= formatHostPort(this.address));
  }
  private key: string | undefined;
  private readonly server: net.Server;
  private readonly connections = new Set<TcpConnection>();
  private readonly perClient = new ConnectionsByOwner();
  private sweeper: NodeJS.Timeout | null = null;
  private closing = false;
  rejectedConnections = 0;
  rejectedPerClient = 0;
  badFrames = 0;
  droppedAnswers = 0;
  pausedForOutput = 0;
  maxBufferedBytes = 0;
  maxInFlightSeen = 0;
  /** Sum of the connections' `buffered`: exact after each sweep, an over-estimate in between. */
  private totalBuffered = 0;
  readonly closed: TcpClosedCounts = { idle: 0, readTimeout: 0, writeTimeout: 0, evicted: 0, badFrame: 0, overflow: 0 };

  readonly transport: Transport;
  private secureContext: tls.SecureContext | null;
  /** TLS handshakes that failed (not TLS, bad version, no common cipher, or the client refused the certificate). */
  handshakeFailures = 0;

  /** With a certificate, the listener speaks DNS over TLS. */
  constructor(
    readonly address: HostPort,
    private pipeline: Pipeline,
    private options: TcpListenerOptions,
    certificate: Certificate | null = null,
  ) {
    this.transport = certificate === null ? 'tcp' : 'tls';
    this.secureContext = certificate === null ? null : secureContext(certificate);
    // No server.maxConnections: at the cap a new connection may take an idle one's place.
    this.server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => this.accept(socket));
  }

  /** New connections shake hands with this certificate; open ones keep theirs. Throws on a bad pair. */
  setCertificate(certificate: Certificate): void {
    if (this.secureContext === null) throw new Error('not a TLS listener');
    this.secureContext = secureContext(certificate);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(
        { host: this.address.host, port: this.address.port, ipv6Only: this.address.family === 6 },
        () => {
          this.server.off('error', reject);
          this.startSweeper();
          resolve();
        },
      );
    });
  }

  get boundPort(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  stats(): TcpListenerStats {
    let bufferedBytes = 0;
    let pausedNow = 0;
    for (const conn of this.connections) {
      bufferedBytes += conn.socket.writableLength;
      if (conn.outputBlockedSince > 0) pausedNow++;
    }
    return {
      connections: this.connections.size,
      rejectedConnections: this.rejectedConnections,
      rejectedPerClient: this.rejectedPerClient,
      badFrames: this.badFrames,
      closed: { ...this.closed },
      droppedAnswers: this.droppedAnswers,
      pausedForOutput: this.pausedForOutput,
      pausedNow,
      bufferedBytes,
      maxBufferedBytes: this.maxBufferedBytes,
      maxInFlightSeen: this.maxInFlightSeen,
    };
  }

  setPipeline(pipeline: Pipeline): void {
    this.pipeline = pipeline;
  }

  setOptions(options: TcpListenerOptions): void {
    this.options = options;
    if (this.sweeper) this.startSweeper();
    for (const conn of this.connections) this.updateReading(conn);
  }

  private startSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    const o = this.options;
    // A quarter of the shortest timeout: a connection is closed at most 25% late.
    const every = Math.max(25, Math.min(1000, Math.min(o.idleTimeoutMs, o.readTimeoutMs, o.writeTimeoutMs) / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private accept(socket: net.Socket): void {
    const client = socket.remoteAddress ?? '';
    const owner = connectionOwner(client);
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.perClient.atCap(owner, this.options.maxConnectionsPerClient)) {
      this.rejectedPerClient++;
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.options.maxConnections && !this.evictIdle()) {
      this.rejectedConnections++;
      socket.destroy();
      return;
    }
    const remotePort = socket.remotePort ?? 0;
    const now = performance.now();
    if (this.secureContext !== null) socket = this.wrap(socket);
    const conn = new TcpConnection(socket, client, owner, now);
    this.connections.add(conn);
    this.perClient.add(owner);
    const transport = this.transport;
    if (transport === 'tls') {
      // The handshake is a message being received: the read timeout bounds it.
      conn.messageStartedAt = now;
      socket.once('secure', () => {
        conn.messageStartedAt = 0;
        conn.lastActivity = performance.now();
      });
    }
    conn.reader = new FrameReader(65535, (msg) => {
      conn.inFlight++;
      if (conn.inFlight > this.maxInFlightSeen) this.maxInFlightSeen = conn.inFlight;
      if (conn.inFlight >= this.options.maxInFlightPerConnection) this.updateReading(conn);
      this.pipeline.start(new QueryContext(msg, transport, client, remotePort, this, conn, performance.now()));
    });
    socket.on('data', (chunk) => {
      conn.lastActivity = performance.now();
      if (!conn.reader.push(chunk)) this.badFrame(conn);
      else this.noteMessageStart(conn);
    });
    socket.on('drain', () => {
      this.totalBuffered -= conn.buffered;
      conn.buffered = 0;
      if (conn.outputBlockedSince === 0) return;
      conn.outputBlockedSince = 0;
      conn.lastActivity = performance.now();
      this.updateReading(conn);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.release(conn));
  }

  /** Puts TLS over an accepted TCP connection, with the certificate of the moment. */
  private wrap(raw: net.Socket): tls.TLSSocket {
    raw.on('error', () => raw.destroy());
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: this.secureContext!,
      ALPNProtocols: ['dot'],
    });
    let secured = false;
    socket.once('secure', () => (secured = true));
    socket.on('error', () => {
      if (!secured) this.handshakeFailures++;
    });
    return socket;
  }

  /** Closes the least recently active connection with nothing in flight or unread; false if none. */
  private evictIdle(): boolean {
    let oldest: TcpConnection | null = null;
    for (const conn of this.connections) {
      if (conn.inFlight > 0 || conn.socket.writableLength > 0 || conn.socket.destroyed) continue;
      if (oldest === null || conn.lastActivity < oldest.lastActivity) oldest = conn;
    }
    if (oldest === null) return false;
    this.closed.evicted++;
    this.forget(oldest);
    return true;
  }

  /** Destroys the socket and stops counting the connection at once (its 'close' comes a tick later). */
  private forget(conn: TcpConnection): void {
    conn.socket.destroy();
    this.release(conn);
  }

  private release(conn: TcpConnection): void {
    if (!this.connections.delete(conn)) return;
    this.totalBuffered -= conn.buffered;
    conn.buffered = 0;
    this.perClient.remove(conn.owner);
  }

  private badFrame(conn: TcpConnection): void {
    this.badFrames++;
    this.closed.badFrame++;
    this.forget(conn);
  }

  /** Starts the read timeout when a message has begun and not yet arrived whole. */
  private noteMessageStart(conn: TcpConnection): void {
    const reader = conn.reader;
    if (!reader.partial) conn.messageStartedAt = 0;
    else if (conn.messageSerial !== reader.messagesBegun) {
      conn.messageSerial = reader.messagesBegun;
      conn.messageStartedAt = performance.now();
    }
  }

  /** Reads from the connection unless it is at its in-flight cap or its unread answers passed the cap. */
  private updateReading(conn: TcpConnection): void {
    const hold = conn.inFlight >= this.options.maxInFlightPerConnection || conn.outputBlockedSince > 0;
    if (hold && !conn.held) {
      conn.held = true;
      conn.reader.pause();
      conn.socket.pause();
    } else if (!hold && conn.held && !conn.socket.destroyed) {
      conn.held = false;
      conn.socket.resume();
      // Emits queries that arrived in the same read as the one that reached the cap; it may
      // reach the cap again and hold the connection anew.
      if (!conn.reader.resume()) this.badFrame(conn);
      else this.noteMessageStart(conn);
    }
  }

  send(ctx: QueryContext, answer: Buffer): void {
    const conn = ctx.connection as TcpConnection;
    const socket = conn.socket;
    if (!socket.destroyed && socket.writable) {
      const frame = Buffer.allocUnsafe(answer.length + 2);
      frame.writeUInt16BE(answer.length, 0);
      answer.copy(frame, 2);
      socket.write(frame);
      conn.lastActivity = performance.now();
      const buffered = socket.writableLength;
      this.totalBuffered += buffered - conn.buffered;
      conn.buffered = buffered;
      if (buffered > this.maxBufferedBytes) this.maxBufferedBytes = buffered;
      if (buffered > this.options.maxBufferedPerConnection && conn.outputBlockedSince === 0) {
        // The client is not reading: stop reading its queries; 'drain' resumes, the sweep closes.
        conn.outputBlockedSince = conn.lastActivity;
        this.pausedForOutput++;
      }
      if (this.totalBuffered > this.options.maxBufferedTotal) this.closeLargestOutput();
    } else {
      this.droppedAnswers++;
    }
    this.settle(conn);
  }

  /** Closes the connection holding the most unread answers (scans only past the total cap). */
  private closeLargestOutput(): void {
    let largest: TcpConnection | null = null;
    for (const conn of this.connections) if (largest === null || conn.buffered > largest.buffered) largest = conn;
    if (largest === null) return;
    this.closed.overflow++;
    this.forget(largest);
  }

  drop(ctx: QueryContext): void {
    this.settle(ctx.connection as TcpConnection);
  }

  private settle(conn: TcpConnection): void {
    conn.inFlight--;
    if (this.closing && conn.inFlight === 0) conn.socket.end();
    this.updateReading(conn);
  }

  private sweep(): void {
    const now = performance.now();
    const o = this.options;
    let total = 0;
    for (const conn of this.connections) {
      conn.buffered = conn.socket.writableLength;
      total += conn.buffered;
    }
    this.totalBuffered = total;
    for (const conn of this.connections) {
      if (conn.outputBlockedSince > 0) {
        if (now - conn.outputBlockedSince > o.writeTimeoutMs) {
          this.closed.writeTimeout++;
          this.forget(conn);
        }
      } else if (conn.messageStartedAt > 0) {
        // Half a message is no activity: silent past the idle timeout, or slower than the read timeout.
        if (now - conn.messageStartedAt > o.readTimeoutMs) {
          this.closed.readTimeout++;
          this.forget(conn);
        } else if (conn.inFlight === 0 && now - conn.lastActivity > o.idleTimeoutMs) {
          this.closed.idle++;
          this.forget(conn);
        }
      } else if (conn.inFlight === 0) {
        // RFC 7766 §6.2.3: close idle connections; a connection with queries in flight is not idle.
        if (this.closing) {
          this.forget(conn);
        } else if (conn.socket.writableLength > 0) {
          // Answers under the cap left unread with nothing else going on: the slot is not kept.
          if (now - conn.lastActivity > o.writeTimeoutMs) {
            this.closed.writeTimeout++;
            this.forget(conn);
          }
        } else if (now - conn.lastActivity > o.idleTimeoutMs) {
          this.closed.idle++;
          this.forget(conn);
        }
      }
    }
  }

  /** Stops accepting; open connections finish what is in flight, then close. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      this.server.close(() => {
        if (this.sweeper) clearInterval(this.sweeper);
        this.sweeper = null;
        resolve();
      });
      for (const conn of this.connections) if (conn.inFlight === 0) conn.socket.end();
    });
  }
}

/** TLS 1.2 and 1.3 only (RFC 7858 §3.2 and RFC 8310 ask for current TLS). */
export function secureContext(certificate: Certificate): tls.SecureContext {
  return tls.createSecureContext({ cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.2' });
}

/** One listener's stats, or several summed (the most one connection held or had in flight: the max). */
export function sumTcpStats(all: TcpListenerStats[]): TcpListenerStats {
  const sum: TcpListenerStats = {
    connections: 0,
    rejectedConnections: 0,
    rejectedPerClient: 0,
    badFrames: 0,
    closed: { idle: 0, readTimeout: 0, writeTimeout: 0, evicted: 0, badFrame: 0, overflow: 0 },
    droppedAnswers: 0,
    pausedForOutput: 0,
    pausedNow: 0,
    bufferedBytes: 0,
    maxBufferedBytes: 0,
    maxInFlightSeen: 0,
  };
  for (const s of all) {
    sum.connections += s.connections;
    sum.rejectedConnections += s.rejectedConnections;
    sum.rejectedPerClient += s.rejectedPerClient;
    sum.badFrames += s.badFrames;
    for (const k of Object.keys(sum.closed) as (keyof TcpClosedCounts)[]) sum.closed[k] += s.closed[k];
    sum.droppedAnswers += s.droppedAnswers;
    sum.pausedForOutput += s.pausedForOutput;
    sum.pausedNow += s.pausedNow;
    sum.bufferedBytes += s.bufferedBytes;
    sum.maxBufferedBytes = Math.max(sum.maxBufferedBytes, s.maxBufferedBytes);
    sum.maxInFlightSeen = Math.max(sum.maxInFlightSeen, s.maxInFlightSeen);
  }
  return sum;
}
