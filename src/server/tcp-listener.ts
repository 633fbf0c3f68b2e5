/**
 * TCP listener (RFC 7766): 2-byte length framing, many queries in flight per connection with
 * answers sent as they are ready (out of order), an idle timeout while nothing is in flight,
 * a cap on connections, and a cap on queries in flight per connection (reading pauses there).
 */
import net from 'node:net';
import type { Pipeline } from '../pipeline/pipeline.js';
import { QueryContext, type ReplySink } from '../pipeline/query-context.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { FrameReader } from './frame-reader.js';

export interface TcpListenerOptions {
  idleTimeoutMs: number;
  maxConnections: number;
  maxInFlightPerConnection: number;
}

class TcpConnection {
  inFlight = 0;
  paused = false;
  constructor(readonly socket: net.Socket) {}
}

export class TcpListener implements ReplySink {
  get listenerKey(): string {
    return (this.key ??= formatHostPort(this.address));
  }
  private key: string | undefined;
  private readonly server: net.Server;
  private readonly connections = new Set<TcpConnection>();
  rejectedConnections = 0;
  private closing = false;
  badFrames = 0;

  constructor(readonly address: HostPort, private pipeline: Pipeline, private options: TcpListenerOptions) {
    this.server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => this.accept(socket));
    this.server.maxConnections = options.maxConnections;
    this.server.on('drop', () => this.rejectedConnections++);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.address.host, port: this.address.port, ipv6Only: this.address.family === 6 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get boundPort(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  setPipeline(pipeline: Pipeline): void {
    this.pipeline = pipeline;
  }

  setOptions(options: TcpListenerOptions): void {
    this.options = options;
    this.server.maxConnections = options.maxConnections;
  }

  private accept(socket: net.Socket): void {
    const conn = new TcpConnection(socket);
    this.connections.add(conn);
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    const reader = new FrameReader(65535, (msg) => {
      conn.inFlight++;
      if (conn.inFlight >= this.options.maxInFlightPerConnection && !conn.paused) {
        conn.paused = true;
        socket.pause();
      }
      this.pipeline.start(new QueryContext(msg, 'tcp', remoteAddress, remotePort, this, conn, performance.now()));
    });
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('timeout', () => {
      // RFC 7766 §6.2.3: close idle connections; a connection with queries in flight is not idle.
      if (conn.inFlight === 0) socket.end();
    });
    socket.on('data', (chunk) => {
      if (!reader.push(chunk)) {
        this.badFrames++;
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.delete(conn));
  }

  send(ctx: QueryContext, answer: Buffer): void {
    const conn = ctx.connection as TcpConnection;
    if (!conn.socket.destroyed && conn.socket.writable) {
      const frame = Buffer.allocUnsafe(answer.length + 2);
      frame.writeUInt16BE(answer.length, 0);
      answer.copy(frame, 2);
      conn.socket.write(frame);
    }
    this.settle(conn);
  }

  drop(ctx: QueryContext): void {
    this.settle(ctx.connection as TcpConnection);
  }

  private settle(conn: TcpConnection): void {
    conn.inFlight--;
    if (this.closing && conn.inFlight === 0) conn.socket.end();
    if (conn.paused && conn.inFlight < this.options.maxInFlightPerConnection) {
      conn.paused = false;
      conn.socket.resume();
    }
  }

  /** Stops accepting; open connections finish what is in flight, then close. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const conn of this.connections) if (conn.inFlight === 0) conn.socket.end();
    });
  }
}
