/**
 * Queries to one upstream over DNS over HTTPS (RFC 8484): one HTTP/2 session, one POST of
 * `application/dns-message` per query, as many streams in flight as the session allows (the
 * server's SETTINGS_MAX_CONCURRENT_STREAMS; HTTP/2 queues the rest). The session opens on
 * demand, its certificate always verified, and closes after `idleMs` with nothing in flight.
 *
 * Each answer arrives on its query's own stream, so it is delivered to that exchange (its ID
 * and question still checked by the upstream, as for UDP); a timed-out query's stream is
 * cancelled (RST_STREAM), which frees the server's work too.
 */
import http2 from 'node:http2';
import { claimId, type Exchange, IN_FLIGHT_LIMIT, type TransportEvents } from './exchange.js';

/** The largest DNS message (RFC 8484 §6 keeps DNS's 65,535-byte bound). */
const MAX_ANSWER_BYTES = 65_535;
/**
 * Streams opened on one session before a new session is started for new queries (a client's
 * stream IDs end at 2^31; the old session finishes its streams and is closed when idle).
 */
const STREAMS_PER_SESSION = 1 << 30;

interface Pending {
  ex: Exchange;
  stream: http2.ClientHttp2Stream;
}

export interface DohTarget {
  host: string;
  port: number;
  path: string;
  /** The certificate's checks: the CA (else Node's bundle) and the name (else the address). */
  ca?: string;
  servername?: string;
}

export class DohTransport {
  private session: http2.ClientHttp2Session | null = null;
  private streamsOnSession = 0;
  private readonly pending = new Map<number, Pending>();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly authority: string;
  /** Queries refused because `maxInFlight` were already waiting on the session. */
  refused = 0;
  /** Sessions opened (each with its TLS handshake). */
  connections = 0;
  /** Answers with an HTTP status other than 200 or another content type. */
  httpErrors = 0;

  constructor(
    private readonly target: DohTarget,
    private readonly idleMs: number,
    private readonly events: TransportEvents,
    private readonly maxInFlight: number,
  ) {
    const host = target.servername ?? (target.host.includes(':') ? `[${target.host}]` : target.host);
    this.authority = `https://${host}:${target.port}`;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `ex`, or returns why not (nothing was sent and `ex` is not kept). */
  send(ex: Exchange): string | null {
    const id = claimId(this.pendingIds, this.maxInFlight);
    if (id < 0) {
      this.refused++;
      return IN_FLIGHT_LIMIT;
    }
    ex.setId(id);
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    const session = this.openSession();
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({
        ':method': 'POST',
        ':path': this.target.path,
        'content-type': 'application/dns-message',
        accept: 'application/dns-message',
        'content-length': ex.wire.length,
      });
    } catch (err) {
      // A session closing under us (GOAWAY just received): the next send opens a new one.
      this.dropSession(session);
      return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    this.streamsOnSession++;
    this.pending.set(id, { ex, stream });
    this.readAnswer(id, ex, stream);
    stream.end(ex.wire);
    return null;
  }

  sweep(now: number): void {
    for (const [id, p] of this.pending) {
      if (p.ex.deadline > now) continue;
      this.pending.delete(id);
      p.stream.close(http2.constants.NGHTTP2_CANCEL);
      this.events.failed(p.ex, 'timeout');
    }
    this.armIdle();
  }

  close(): void {
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      p.stream.close(http2.constants.NGHTTP2_CANCEL);
      this.events.failed(p.ex, 'upstream transport closed');
    }
    this.session?.close();
    this.session = null;
  }

  /** claimId() draws IDs against a map of exchanges; the pending map's keys are the same IDs. */
  private get pendingIds(): Map<number, Exchange> {
    return this.pending as unknown as Map<number, Exchange>;
  }

  private openSession(): http2.ClientHttp2Session {
    if (
      this.session !== null &&
      !this.session.closed &&
      !this.session.destroyed &&
      this.streamsOnSession < STREAMS_PER_SESSION
    )
      return this.session;
    if (this.session !== null) this.dropSession(this.session);
    const session = http2.connect(this.authority, {
      host: this.target.host,
      port: this.target.port,
      servername: this.target.servername,
      ca: this.target.ca,
      rejectUnauthorized: true,
      // Each query is one small stream: the default 64 KiB windows are plenty.
    });
    this.connections++;
    this.session = session;
    this.streamsOnSession = 0;
    const gone = (why: string) => {
      if (this.session === session) this.session = null;
      // Streams of this session fail on their own ('error'/'close'); those that never will are failed here.
      for (const [id, p] of this.pending) {
        if (p.stream.session !== session || !p.stream.destroyed) continue;
        this.pending.delete(id);
        this.events.failed(p.ex, why);
      }
    };
    session.on('error', (err: NodeJS.ErrnoException) => gone(err.code ?? err.message));
    session.on('goaway', () => {
      if (this.session === session) this.session = null;
    });
    session.on('close', () => gone('connection closed'));
    return session;
  }

  private dropSession(session: http2.ClientHttp2Session): void {
    if (this.session === session) this.session = null;
    if (!session.closed) session.close();
  }

  private readAnswer(id: number, ex: Exchange, stream: http2.ClientHttp2Stream): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let status = 0;
    let contentType = '';
    const fail = (why: string) => {
      if (this.pending.get(id)?.stream !== stream) return;
      this.pending.delete(id);
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      this.events.failed(ex, why);
      this.armIdle();
    };
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      contentType = String(headers['content-type'] ?? '')
        .split(';')[0]
        .trim()
        .toLowerCase();
    });
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_ANSWER_BYTES) return fail('answer longer than 65,535 bytes');
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (this.pending.get(id)?.stream !== stream) return;
      if (status !== 200 || contentType !== 'application/dns-message') {
        this.httpErrors++;
        return fail(status !== 200 ? `HTTP ${status}` : `content type ${contentType || 'missing'}`);
      }
      this.pending.delete(id);
      const answer = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes);
      // The stream says which query this answers; an answer to another question is the server's fault.
      if (!this.events.answer(ex, answer)) this.events.failed(ex, 'answer does not match the question');
      this.armIdle();
    });
    stream.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    stream.on('close', () => fail('stream closed without an answer'));
  }

  private armIdle(): void {
    if (this.pending.size > 0 || this.session === null || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0 && this.session !== null) {
        const s = this.session;
        this.session = null;
        s.close();
      }
    }, this.idleMs);
    this.idleTimer.unref();
  }
}
