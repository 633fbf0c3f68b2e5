/**
 * DNS over HTTPS (RFC 8484): HTTP/2 and HTTP/1.1 on one TLS port (node:http2 with allowHTTP1),
 * GET with `?dns=` (base64url, no padding) and POST with an `application/dns-message` body, on
 * one configured path. The answer carries `Cache-Control: max-age=` its smallest TTL (§5.1).
 *
 * Bounds, from the `tcp` section as for DNS over TCP and TLS:
 * - connections: at most `maxConnections` in total (counted as TCP connections, before the
 *   handshake, by the server itself) and `maxConnectionsPerClient` per client once TLS is up;
 * - time: the handshake must finish within `readTimeoutMs`; a connection with no traffic for
 *   `idleTimeoutMs` is closed;
 * - queries: at most `maxInFlightPerConnection` HTTP/2 streams at once (HTTP/1.1 is one request
 *   at a time); a POST body over 65535 bytes is refused with 413 before it is read whole.
 *
 * Bad requests get the status RFC 8484 and HTTP ask for: 400 (no or bad `dns`, a message shorter
 * than a DNS header), 404 (another path), 405 (another method), 413, 415 (another content type).
 */
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type tls from 'node:tls';
import { scanResponse } from '../dns/response-scanner.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { QueryContext, type ReplySink } from '../pipeline/query-context.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { connectionOwner, ConnectionsByOwner } from '../util/connection-owner.js';
import type { Certificate, TcpListenerOptions } from './tcp-listener.js';

const MAX_MESSAGE = 65535;
const DNS_MESSAGE = 'application/dns-message';
const HEADER_LENGTH = 12;

type Request = http2.Http2ServerRequest | IncomingMessage;
type Response = http2.Http2ServerResponse | ServerResponse;

export interface DohListenerStats {
  connections: number;
  rejectedPerClient: number;
  handshakeFailures: number;
  /** Requests answered with a DNS message, and refused by status. */
  answered: number;
  refused: Record<string, number>;
  droppedAnswers: number;
}

export class DohListener implements ReplySink {
  get listenerKey(): string {
    return (this.key ??= formatHostPort(this.address));
  }
  private key: string | undefined;
  private readonly server: http2.Http2SecureServer;
  private readonly sockets = new Set<tls.TLSSocket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly perClient = new ConnectionsByOwner();
  private closing = false;
  rejectedPerClient = 0;
  handshakeFailures = 0;
  answered = 0;
  droppedAnswers = 0;
  readonly refused: Record<string, number> = {};

  constructor(
    readonly address: HostPort,
    private pipeline: Pipeline,
    private options: TcpListenerOptions,
    certificate: Certificate,
    private path: string,
  ) {
    this.server = http2.createSecureServer(
      {
        allowHTTP1: true,
        cert: certificate.cert,
        key: certificate.key,
        minVersion: 'TLSv1.2',
        ALPNProtocols: ['h2', 'http/1.1'],
        handshakeTimeout: options.readTimeoutMs,
        settings: { maxConcurrentStreams: options.maxInFlightPerConnection },
        maxSessionMemory: 4,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.maxConnections = options.maxConnections;
    this.server.on('secureConnection', (socket: tls.TLSSocket) => this.accept(socket));
    this.server.on('tlsClientError', (_err, socket) => {
      this.handshakeFailures++;
      socket.destroy();
    });
    // A stalled or silent HTTP/2 session: close it rather than keep the slot.
    this.server.on('session', (session) => {
      session.setTimeout(this.options.idleTimeoutMs, () => session.destroy());
      session.on('error', () => session.destroy());
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(
        { host: this.address.host, port: this.address.port, ipv6Only: this.address.family === 6 },
        () => {
          this.server.off('error', reject);
          resolve();
        },
      );
    });
  }

  get boundPort(): number {
    return (this.server.address() as { port: number }).port;
  }

  setPipeline(pipeline: Pipeline): void {
    this.pipeline = pipeline;
  }

  /** Caps and timeouts apply to new connections (HTTP/2 settings are sent once per connection). */
  setOptions(options: TcpListenerOptions, path: string): void {
    this.options = options;
    this.path = path;
    this.server.maxConnections = options.maxConnections;
  }

  /** New connections shake hands with this certificate; open ones keep theirs. Throws on a bad pair. */
  setCertificate(certificate: Certificate): void {
    this.server.setSecureContext({ cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.2' });
  }

  stats(): DohListenerStats {
    return {
      connections: this.sockets.size,
      rejectedPerClient: this.rejectedPerClient,
      handshakeFailures: this.handshakeFailures,
      answered: this.answered,
      refused: { ...this.refused },
      droppedAnswers: this.droppedAnswers,
    };
  }

  private accept(socket: tls.TLSSocket): void {
    const owner = connectionOwner(socket.remoteAddress ?? '');
    if (this.closing || this.perClient.atCap(owner, this.options.maxConnectionsPerClient)) {
      if (!this.closing) this.rejectedPerClient++;
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.perClient.add(owner);
    // Idle HTTP/1.1 keep-alive connections (HTTP/2 sessions have their own timeout).
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.perClient.remove(owner);
    });
  }

  private refuse(res: Response, status: number, extra: Record<string, string> = {}): void {
    this.refused[status] = (this.refused[status] ?? 0) + 1;
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'text/plain', ...extra });
    res.end(`${status}\n`);
  }

  private handle(req: Request, res: Response): void {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== this.path) return this.refuse(res, 404);
    if (req.method === 'GET') {
      const dns = new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).get('dns');
      // base64url without padding (§4.1); Buffer would skip bad characters silently.
      if (dns === null || !/^[A-Za-z0-9_-]+$/.test(dns) || dns.length > Math.ceil((MAX_MESSAGE * 4) / 3))
        return this.refuse(res, 400);
      return this.start(req, res, Buffer.from(dns, 'base64url'));
    }
    if (req.method !== 'POST') return this.refuse(res, 405, { allow: 'GET, POST' });
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== DNS_MESSAGE) return this.refuse(res, 415);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_MESSAGE) return this.tooLarge(req, res);
    const chunks: Buffer[] = [];
    let length = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      length += chunk.length;
      if (length > MAX_MESSAGE) {
        over = true;
        this.tooLarge(req, res);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) this.start(req, res, Buffer.concat(chunks, length));
    });
    req.on('error', () => undefined);
  }

  /** 413, and the rest of the body is not read: HTTP/1.1 closes the connection, HTTP/2 resets the stream. */
  private tooLarge(req: Request, res: Response): void {
    if (req.httpVersionMajor === 1) this.refuse(res, 413, { connection: 'close' });
    else {
      res.once('finish', () => req.destroy());
      this.refuse(res, 413);
    }
  }

  private start(req: Request, res: Response, msg: Buffer): void {
    if (msg.length < HEADER_LENGTH) return this.refuse(res, 400);
    const socket = req.socket;
    this.pipeline.start(
      new QueryContext(msg, 'https', socket.remoteAddress ?? '', socket.remotePort ?? 0, this, res, performance.now()),
    );
  }

  send(ctx: QueryContext, answer: Buffer): void {
    const res = ctx.connection as Response;
    if (res.headersSent || res.destroyed || res.writableEnded) {
      this.droppedAnswers++;
      return;
    }
    this.answered++;
    res.writeHead(200, {
      'content-type': DNS_MESSAGE,
      'content-length': String(answer.length),
      'cache-control': `max-age=${freshness(answer)}`,
    });
    res.end(answer);
  }

  /** A query the pipeline chose not to answer (a drop action): the HTTP request still needs a status. */
  drop(ctx: QueryContext): void {
    const res = ctx.connection as Response;
    if (res.headersSent || res.destroyed || res.writableEnded) return;
    this.refuse(res, 503);
  }

  /** Stops accepting; open connections finish what is in flight, then close. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // HTTP/2: GOAWAY, streams in flight finish; HTTP/1.1: the connection closes after its request.
      for (const s of this.sessions) s.close();
      for (const s of this.sockets) if (s.alpnProtocol !== 'h2') s.end();
    });
  }
}

/** Several DoH listeners' stats summed. */
export function sumDohStats(all: DohListenerStats[]): DohListenerStats {
  const sum: DohListenerStats = {
    connections: 0,
    rejectedPerClient: 0,
    handshakeFailures: 0,
    answered: 0,
    refused: {},
    droppedAnswers: 0,
  };
  for (const s of all) {
    sum.connections += s.connections;
    sum.rejectedPerClient += s.rejectedPerClient;
    sum.handshakeFailures += s.handshakeFailures;
    sum.answered += s.answered;
    sum.droppedAnswers += s.droppedAnswers;
    for (const [status, n] of Object.entries(s.refused)) sum.refused[status] = (sum.refused[status] ?? 0) + n;
  }
  return sum;
}

/** RFC 8484 §5.1: no longer than the smallest TTL, and for a negative answer the SOA's negative TTL. */
export function freshness(answer: Buffer): number {
  const scan = scanResponse(answer);
  if (typeof scan === 'string') return 0;
  let ttl = Math.max(0, scan.minTtl);
  if (scan.negativeTtl >= 0) ttl = Math.min(ttl, scan.negativeTtl);
  return ttl;
}
