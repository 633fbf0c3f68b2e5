/**
 * Queries to one upstream over TCP (RFC 7766) or TLS (DoT, RFC 7858): one persistent connection,
 * 2-byte length framing, many queries in flight told apart by ID, answers in any order. The
 * connection opens on demand and closes after `idleMs` with nothing in flight. Over TLS the
 * certificate is always verified, and the session is kept so a reconnect resumes it (one round
 * trip less after an idle close).
 */
import net from 'node:net';
import tls from 'node:tls';
import {
  claimId,
  deliverAnswer,
  type Exchange,
  IN_FLIGHT_LIMIT,
  sweepExpired,
  type TransportEvents,
} from './exchange.js';
import { FrameReader } from '../net/frame-reader.js';

export class TcpTransport {
  private socket: net.Socket | null = null;
  private connected = false;
  private readonly pending = new Map<number, Exchange>();
  private readonly waiting: Exchange[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  /** Queries refused because `maxInFlight` were already waiting on the connection. */
  refused = 0;
  /** Connections opened (each TLS one with its handshake). */
  connections = 0;
  private tlsSession: Buffer | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly idleMs: number,
    private readonly events: TransportEvents,
    /** Queries waiting on the connection at most; well under the 65,536 IDs. */
    private readonly maxInFlight: number,
    /** DoT: how the server's certificate is checked (`rejectUnauthorized` is always on). */
    private readonly tlsOptions: { ca?: string; servername?: string } | null = null,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `ex`, or returns why not (nothing was sent and `ex` is not kept). */
  send(ex: Exchange): string | null {
    const id = claimId(this.pending, this.maxInFlight);
    if (id < 0) {
      this.refused++;
      return IN_FLIGHT_LIMIT;
    }
    ex.setId(id);
    this.pending.set(ex.id, ex);
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (!this.socket) this.connect();
    if (!this.connected) this.waiting.push(ex);
    else this.write(ex);
    return null;
  }

  sweep(now: number): void {
    sweepExpired(this.pending, now, (ex) => this.events.failed(ex, 'timeout'));
    this.armIdle();
  }

  close(): void {
    this.failAll('upstream transport closed');
    this.socket?.destroy();
    this.socket = null;
  }

  private write(ex: Exchange): void {
    const frame = Buffer.allocUnsafe(2 + ex.wire.length);
    frame.writeUInt16BE(ex.wire.length, 0);
    ex.wire.copy(frame, 2);
    this.socket!.write(frame);
  }

  private connect(): void {
    const socket =
      this.tlsOptions === null
        ? net.connect({ host: this.host, port: this.port, noDelay: true })
        : tls.connect({
            host: this.host,
            port: this.port,
            ...this.tlsOptions,
            rejectUnauthorized: true,
            ALPNProtocols: ['dot'],
            session: this.tlsSession,
          });
    this.connections++;
    this.socket = socket;
    this.connected = false;
    const reader = new FrameReader(65535, (msg) => this.onMessage(msg));
    if (this.tlsOptions !== null) {
      socket.setNoDelay(true);
      socket.on('session', (session: Buffer) => (this.tlsSession = session));
    }
    socket.on(this.tlsOptions === null ? 'connect' : 'secureConnect', () => {
      this.connected = true;
      for (const ex of this.waiting) if (this.pending.get(ex.id) === ex) this.write(ex);
      this.waiting.length = 0;
    });
    socket.on('data', (chunk) => {
      if (!reader.push(chunk)) socket.destroy();
    });
    const gone = (why: string) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.connected = false;
      this.failAll(why);
    };
    socket.on('error', (err: NodeJS.ErrnoException) => gone(err.code ?? err.message));
    socket.on('close', () => gone('connection closed'));
  }

  private onMessage(msg: Buffer): void {
    if (deliverAnswer(this.pending, msg, this.events)) this.armIdle();
  }

  private armIdle(): void {
    if (this.pending.size > 0 || !this.socket || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0 && this.socket) {
        const s = this.socket;
        this.socket = null;
        s.end();
      }
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private failAll(why: string): void {
    const failed = [...this.pending.values()];
    this.pending.clear();
    this.waiting.length = 0;
    for (const ex of failed) this.events.failed(ex, why);
  }
}
