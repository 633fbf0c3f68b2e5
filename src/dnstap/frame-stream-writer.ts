/**
 * A Frame Streams writer (the fstrm protocol dnstap collectors speak), bidirectional, over a
 * Unix socket or TCP: READY → ACCEPT → START, then length-prefixed data frames; STOP → FINISH
 * at close. It reconnects with backoff. While no collector is connected, or while the socket's
 * buffer is over the bound, new frames are dropped and counted: a dnstap collector must never
 * hold DNS back (unbound and Knot drop the same way).
 */
import { connect, type Socket } from 'node:net';

const CONTROL_ACCEPT = 0x01;
const CONTROL_START = 0x02;
const CONTROL_STOP = 0x03;
const CONTROL_READY = 0x04;
const CONTROL_FINISH = 0x05;
const FIELD_CONTENT_TYPE = 0x01;
const MAX_CONTROL = 512;

export type FrameStreamAddress = { path: string } | { host: string; port: number };

function controlFrame(type: number, contentType?: string): Buffer {
  const ct = contentType === undefined ? Buffer.alloc(0) : Buffer.from(contentType);
  const fields = contentType === undefined ? 0 : 8 + ct.length;
  const out = Buffer.alloc(12 + fields);
  out.writeUInt32BE(0, 0); // escape: a zero length marks a control frame
  out.writeUInt32BE(4 + fields, 4);
  out.writeUInt32BE(type, 8);
  if (contentType !== undefined) {
    out.writeUInt32BE(FIELD_CONTENT_TYPE, 12);
    out.writeUInt32BE(ct.length, 16);
    ct.copy(out, 20);
  }
  return out;
}

export interface FrameStreamStats {
  sent: number;
  dropped: number;
  connects: number;
  connected: boolean;
}

export class FrameStreamWriter {
  private socket: Socket | null = null;
  private started = false;
  private closing = false;
  private retryMs = 250;
  private retryTimer: NodeJS.Timeout | null = null;
  private inbound = Buffer.alloc(0);
  private finishWaiter: (() => void) | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  readonly stats: FrameStreamStats = { sent: 0, dropped: 0, connects: 0, connected: false };

  constructor(
    private readonly address: FrameStreamAddress,
    private readonly contentType: string,
    private readonly maxBufferedBytes: number,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  start(): void {
    this.connect();
  }

  /** Queues one data frame; dropped (counted) when no collector has accepted or the buffer is full. */
  write(payload: Buffer): void {
    const s = this.socket;
    if (!this.started || s === null || s.writableLength + this.pendingBytes > this.maxBufferedBytes) {
      this.stats.dropped++;
      return;
    }
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(payload.length, 0);
    this.pending.push(len, payload);
    this.pendingBytes += 4 + payload.length;
    this.stats.sent++;
    // One socket write per event-loop turn, however many queries finished in it.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const s = this.socket;
    if (this.pending.length > 0 && s !== null && this.started) s.write(Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  private connect(): void {
    if (this.closing) return;
    const socket = 'path' in this.address ? connect(this.address.path) : connect(this.address.port, this.address.host);
    this.socket = socket;
    this.inbound = Buffer.alloc(0);
    socket.on('connect', () => socket.write(controlFrame(CONTROL_READY, this.contentType)));
    socket.on('data', (chunk) => this.onData(socket, chunk));
    socket.on('error', (err) => this.onError(err));
    socket.on('close', () => {
      if (this.socket === socket) {
        this.socket = null;
        this.started = false;
        this.stats.connected = false;
      }
      this.finishWaiter?.();
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closing || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  private onData(socket: Socket, chunk: Buffer): void {
    this.inbound = Buffer.concat([this.inbound, chunk]);
    while (this.inbound.length >= 8) {
      const escape = this.inbound.readUInt32BE(0);
      const length = this.inbound.readUInt32BE(4);
      if (escape !== 0 || length < 4 || length > MAX_CONTROL) {
        this.onError(new Error('dnstap collector sent something other than a Frame Streams control frame'));
        socket.destroy();
        return;
      }
      if (this.inbound.length < 8 + length) return;
      const type = this.inbound.readUInt32BE(8);
      this.inbound = this.inbound.subarray(8 + length);
      if (type === CONTROL_ACCEPT && !this.started) {
        socket.write(controlFrame(CONTROL_START, this.contentType));
        this.started = true;
        this.stats.connected = true;
        this.stats.connects++;
        this.retryMs = 250;
      } else if (type === CONTROL_FINISH) {
        this.finishWaiter?.();
      }
    }
  }

  /** Sends STOP and waits (bounded) for the collector's FINISH. */
  async close(timeoutMs = 1000): Promise<void> {
    this.closing = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    const s = this.socket;
    if (s === null) return;
    if (this.started) {
      this.flush();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.finishWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
        s.write(controlFrame(CONTROL_STOP));
      });
    }
    s.destroy();
    this.socket = null;
  }
}
