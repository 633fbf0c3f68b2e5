/**
 * Security events to a syslog collector: RFC 5424 messages (facility security/authorization,
 * severity from the event) carrying CEF or JSON, over TCP with octet-counting framing (RFC 6587)
 * or TLS (RFC 5425, certificate verified against the configured CA), or over UDP. A collector that is down does not slow anything: frames wait in a bounded buffer,
 * the oldest dropped and counted when it is full, and the connection is retried with backoff.
 * A collector that is connected but reads slowly, or not at all, is the same case: no more
 * than SOCKET_QUEUE_BYTES wait in the socket's own write queue; the rest waits in the bounded
 * buffer until the socket drains.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { hostname } from 'node:os';
import type { HostPort } from '../../util/address.js';
import type { EventSink, SinkStatus } from '../event-bus.js';
import type { SecurityEvent } from '../security-event.js';
import { type EventFormat, formatEvent } from './event-format.js';

export interface SyslogTls {
  /** PEM: the CA (or self-signed certificate) the collector's certificate must chain to. */
  ca: string;
  /** PEM client certificate and key, for collectors that require them (mutual TLS). */
  cert?: string;
  key?: string;
  /** Name to verify in the collector's certificate, when it is not the address. */
  serverName?: string;
}

export interface SyslogOptions {
  address: HostPort;
  protocol: 'tcp' | 'udp' | 'tls';
  tls?: SyslogTls;
  format: EventFormat;
  /** Frames kept while the collector is unreachable. */
  maxBuffered: number;
}

const FACILITY_AUTHPRIV = 10;
/** Bytes handed to a connected socket and not yet taken by the kernel (Node's write queue). */
export const SOCKET_QUEUE_BYTES = 256 * 1024;
const HOST = hostname();

/** Syslog severity (0 emergency … 7 debug) from a CEF-style 1–10 severity. */
function syslogSeverity(cef: number): number {
  return cef >= 8 ? 2 : cef >= 6 ? 4 : cef >= 4 ? 5 : 6;
}

export function syslogMessage(e: SecurityEvent, format: EventFormat): string {
  const pri = FACILITY_AUTHPRIV * 8 + syslogSeverity(e.severity);
  const body = formatEvent(e, format);
  return `<${pri}>1 ${e.time} ${HOST} dnsward ${process.pid} ${e.type} - ${body}`;
}

export class SyslogSink implements EventSink {
  readonly name: string;
  dropped = 0;
  sent = 0;
  private buffer: Buffer[] = [];
  private socket: Socket | null = null;
  private connected = false;
  private udp: UdpSocket | null = null;
  private retryMs = 500;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Why the last connection failed (a refused port, a certificate that did not verify, …). */
  lastError = '';

  constructor(private readonly o: SyslogOptions) {
    this.name = `syslog:${o.protocol}:${o.address.host}:${o.address.port}`;
  }

  write(events: SecurityEvent[]): void {
    for (const e of events) {
      const message = Buffer.from(syslogMessage(e, this.o.format), 'utf8');
      if (this.o.protocol === 'udp') {
        this.udp ??= createSocket(this.o.address.host.includes(':') ? 'udp6' : 'udp4');
        this.udp.send(message, this.o.address.port, this.o.address.host);
        this.sent++;
        continue;
      }
      if (this.buffer.length >= this.o.maxBuffered) {
        this.buffer.shift();
        this.dropped++;
      }
      this.buffer.push(Buffer.concat([Buffer.from(`${message.length} `), message]));
    }
    if (this.o.protocol !== 'udp') this.flush();
  }

  status(): SinkStatus {
    return {
      name: this.name,
      sent: this.sent,
      dropped: this.dropped,
      buffered: this.buffer.length,
      connected: this.o.protocol === 'udp' ? undefined : this.connected,
      lastError: this.lastError || undefined,
    };
  }

  /** Bytes waiting in the connected socket's write queue (at most SOCKET_QUEUE_BYTES plus one frame). */
  get socketQueueBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.udp?.close();
    const socket = this.socket;
    if (socket !== null) await new Promise<void>((resolve) => socket.end(() => resolve()));
  }

  private flush(): void {
    if (this.closed) return;
    if (!this.connected) return this.ensureConnection();
    const socket = this.socket!;
    let n = 0;
    while (n < this.buffer.length && socket.writableLength < SOCKET_QUEUE_BYTES) socket.write(this.buffer[n++]);
    if (n > 0) this.buffer = n === this.buffer.length ? [] : this.buffer.slice(n);
    this.sent += n;
  }

  private ensureConnection(): void {
    if (this.socket !== null || this.retryTimer !== null) return;
    const { host, port } = this.o.address;
    const tls = this.o.tls;
    const socket =
      this.o.protocol === 'tls' && tls !== undefined
        ? tlsConnect({
            host,
            port,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            servername: tls.serverName ?? (isIP(host) ? undefined : host),
            minVersion: 'TLSv1.2',
          })
        : connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    // A TLS sink waits for the handshake (and the certificate check) before sending anything.
    socket.on(this.o.protocol === 'tls' ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.retryMs = 500;
      this.flush();
    });
    socket.on('drain', () => this.flush());
    socket.on('error', (err) => {
      this.lastError = err.message;
      socket.destroy();
    });
    socket.on('close', () => {
      this.socket = null;
      this.connected = false;
      if (this.closed) return;
      // Backoff up to 30 s; frames wait in the bounded buffer meanwhile.
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.buffer.length > 0) this.ensureConnection();
      }, this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(30_000, this.retryMs * 2);
    });
  }
}
