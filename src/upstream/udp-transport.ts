/**
 * Queries to one upstream over UDP, through a small set of connected sockets. Connected
 * sockets skip the per-send address lookup, and the kernel drops datagrams from any other
 * source. Each socket gets an OS-chosen random port and is replaced after `rotateAfter`
 * queries, so the source port keeps changing (RFC 5452 §9.2).
 *
 * A socket is replaced only once its successor is open and connected: when a new socket
 * cannot be had (no file descriptors left), the old one keeps serving past `rotateAfter`,
 * the failure is counted, and opening is tried again `OPEN_RETRY_MS` later. A socket that
 * closed is never used again (it leaves `slots` before its handle is closed).
 */
import dgram from 'node:dgram';
import { constants } from 'node:os';
import type { NativeUdpBatch } from '../net/native-udp.js';
import {
  claimId,
  deliverAnswer,
  type Exchange,
  IN_FLIGHT_LIMIT,
  sweepExpired,
  type TransportEvents,
} from './exchange.js';

/** What a slot needs from a socket: node:dgram, or the batched native socket. */
interface DatagramSocket {
  /** Returns an error code when the datagram could not be handed to the kernel. */
  send(bytes: Buffer): string | null;
  close(): void;
}

/** How long after a failed socket open the next try waits (each try costs a syscall or two). */
export const OPEN_RETRY_MS = 1000;

class SocketSlot {
  readonly pending = new Map<number, Exchange>();
  readonly waiting: Exchange[] = [];
  connected = false;
  retired = false;
  closed = false;
  sent = 0;
  /** The socket opened to take this one's place, until it is connected. */
  successor: SocketSlot | null = null;
  /** For a successor: the slot it replaces once connected. */
  replaces: SocketSlot | null = null;
  socket!: DatagramSocket;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));
const NO_ADDRESS = new Int32Array(4);

export class UdpTransport {
  private slots: SocketSlot[] = [];
  private readonly retiring = new Set<SocketSlot>();
  private closed = false;
  /** No socket is opened before this time (performance.now()) after a failed open. */
  private retryOpenAt = 0;
  private lastOpenError = '';
  /** Sockets that could not be opened (e.g. EMFILE): counted, and tried again later. */
  openFailures = 0;
  /** Queries refused because every socket already had `maxInFlight` waiting. */
  refused = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly family: 4 | 6,
    private readonly socketCount: number,
    private readonly rotateAfter: number,
    private readonly events: TransportEvents,
    /** The batched native socket module; null for node:dgram. */
    private readonly native: NativeUdpBatch | null = null,
    /** Queries waiting on one socket at most; well under the 65,536 IDs. */
    private readonly maxInFlight = 4096,
  ) {
    this.topUp(performance.now());
  }

  get inFlight(): number {
    let n = 0;
    for (const s of this.slots) n += s.pending.size;
    for (const s of this.retiring) n += s.pending.size;
    return n;
  }

  /** Sends `ex`, or returns why not (nothing was sent and `ex` is not kept). */
  send(ex: Exchange): string | null {
    const now = ex.sentAt;
    if (this.slots.length < this.socketCount && now >= this.retryOpenAt) this.topUp(now);
    const n = this.slots.length;
    if (n === 0) return `no socket (${this.lastOpenError})`;
    const index = (Math.random() * n) | 0;
    let slot = this.slots[index];
    if (slot.sent >= this.rotateAfter && slot.connected && slot.successor === null && now >= this.retryOpenAt)
      this.rotate(slot, now);
    slot = this.slots[index];
    let id = claimId(slot.pending, this.maxInFlight);
    // A full socket: another may have room.
    for (let k = 1; id < 0 && k < n; k++) {
      slot = this.slots[(index + k) % n];
      id = claimId(slot.pending, this.maxInFlight);
    }
    if (id < 0) {
      this.refused++;
      return IN_FLIGHT_LIMIT;
    }
    ex.setId(id);
    slot.sent++;
    if (!slot.connected) {
      slot.pending.set(id, ex);
      slot.waiting.push(ex);
      return null;
    }
    const error = slot.socket.send(ex.wire);
    if (error !== null) return `send: ${error}`;
    slot.pending.set(id, ex);
    return null;
  }

  sweep(now: number): void {
    const expire = (ex: Exchange) => this.events.failed(ex, 'timeout');
    for (const slot of this.slots) sweepExpired(slot.pending, now, expire);
    for (const slot of this.retiring) {
      sweepExpired(slot.pending, now, expire);
      if (slot.pending.size === 0) this.closeSlot(slot);
    }
  }

  close(): void {
    this.closed = true;
    const all = [...this.slots, ...this.retiring];
    for (const s of this.slots) if (s.successor) all.push(s.successor);
    this.slots = [];
    for (const slot of all) {
      for (const ex of slot.pending.values()) this.events.failed(ex, 'upstream transport closed');
      slot.pending.clear();
      slot.waiting.length = 0;
      this.closeSlot(slot);
    }
  }

  /** Opens sockets up to the configured count; stops at the first failure. */
  private topUp(now: number): void {
    while (this.slots.length < this.socketCount) {
      const slot = this.tryOpen(now);
      if (slot === null) return;
      this.slots.push(slot);
    }
  }

  /** A new socket, or null (counted, and no other try for OPEN_RETRY_MS) when none can be had. */
  private tryOpen(now: number): SocketSlot | null {
    try {
      return this.native ? this.openNativeSlot(this.native) : this.openDgramSlot();
    } catch (err) {
      this.openFailed(now, err as Error);
      return null;
    }
  }

  private openFailed(now: number, err: Error): void {
    this.openFailures++;
    this.lastOpenError = err.message;
    this.retryOpenAt = now + OPEN_RETRY_MS;
  }

  /** Replaces `slot` with a new socket, at once when the new one is connected, else when it connects. */
  private rotate(slot: SocketSlot, now: number): void {
    const fresh = this.tryOpen(now);
    if (fresh === null) return; // the old socket serves on past rotateAfter
    if (fresh.connected) this.replace(slot, fresh);
    else {
      slot.successor = fresh;
      fresh.replaces = slot;
    }
  }

  private replace(old: SocketSlot, fresh: SocketSlot): void {
    old.successor = null;
    fresh.replaces = null;
    const i = this.slots.indexOf(old);
    if (i < 0 || this.closed) {
      this.closeSlot(fresh);
      return;
    }
    this.slots[i] = fresh;
    this.retire(old);
  }

  /**
   * On the batched native socket, queries sent while a batch of client queries is handled
   * leave together in one sendmmsg, and answers arrive in batches.
   */
  private openNativeSlot(native: NativeUdpBatch): SocketSlot {
    const slot = new SocketSlot();
    const opened = native.open(this.family === 6 ? '::' : '0.0.0.0', 0, this.family === 6, 1 << 20, false);
    const handle = opened.handle;
    slot.socket = {
      send: (bytes) => {
        const errno = native.send(handle, bytes, 0, NO_ADDRESS);
        return errno === 0 ? null : (errnoNames.get(errno) ?? `errno ${errno}`);
      },
      close: () => native.close(handle),
    };
    try {
      native.connect(handle, this.host, this.port);
      const data = Buffer.from(opened.data);
      const meta = new Int32Array(opened.meta);
      native.start(handle, (count) => {
        if (count < 0) {
          const code = errnoNames.get(-count) ?? `errno ${-count}`;
          return this.onError(slot, Object.assign(new Error(code), { code }));
        }
        for (let i = 0; i < count; i++) {
          const m = i * native.META;
          if (meta[m + 3] !== 0) continue; // larger than a slot: not an answer we could take anyway
          const msg = Buffer.allocUnsafe(meta[m]);
          data.copy(msg, 0, i * native.SLOT, i * native.SLOT + meta[m]);
          this.onMessage(slot, msg);
        }
      });
    } catch (err) {
      native.close(handle); // a socket that could not be connected or polled is not kept
      throw err;
    }
    slot.connected = true;
    return slot;
  }

  private openDgramSlot(): SocketSlot {
    // A larger receive buffer: answers arrive in bursts when a batch of queries went out together.
    const socket = dgram.createSocket({ type: this.family === 6 ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
    const slot = new SocketSlot();
    slot.socket = {
      send: (bytes) => {
        socket.send(bytes); // errors arrive as 'error' events (onError)
        return null;
      },
      close: () => socket.close(),
    };
    socket.on('message', (msg) => this.onMessage(slot, msg));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(slot, err));
    // exclusive: a socket shared with another process would deliver answers to whichever
    // reads first.
    socket.bind({ port: 0, exclusive: true }, () => {
      socket.connect(this.port, this.host, () => {
        if (slot.closed) return;
        slot.connected = true;
        if (slot.replaces) this.replace(slot.replaces, slot);
        for (const ex of slot.waiting) if (slot.pending.get(ex.id) === ex) socket.send(ex.wire);
        slot.waiting.length = 0;
      });
    });
    return slot;
  }

  private onMessage(slot: SocketSlot, msg: Buffer): void {
    if (deliverAnswer(slot.pending, msg, this.events) && slot.retired && slot.pending.size === 0) this.closeSlot(slot);
  }

  private onError(slot: SocketSlot, err: NodeJS.ErrnoException): void {
    if (slot.closed) return;
    if (!slot.connected) {
      // The socket never came up (bind or connect failed, e.g. EMFILE on node:dgram): it
      // leaves the set, and a new one is tried after OPEN_RETRY_MS.
      this.openFailed(performance.now(), err);
      if (slot.replaces) slot.replaces.successor = null;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      this.failPending(slot, err);
      this.closeSlot(slot);
      return;
    }
    // On a connected socket, ICMP port-unreachable surfaces as ECONNREFUSED: the upstream is
    // not listening, so everything in flight on this socket can fail over now, not at timeout.
    this.failPending(slot, err);
  }

  private failPending(slot: SocketSlot, err: NodeJS.ErrnoException): void {
    const failed = [...slot.pending.values()];
    slot.pending.clear();
    slot.waiting.length = 0;
    for (const ex of failed) this.events.failed(ex, err.code ?? err.message);
  }

  private retire(slot: SocketSlot): void {
    slot.retired = true;
    if (slot.pending.size === 0) this.closeSlot(slot);
    else this.retiring.add(slot);
  }

  /** Closes the socket once; a closed slot is in neither `slots` nor `retiring`. */
  private closeSlot(slot: SocketSlot): void {
    this.retiring.delete(slot);
    if (slot.closed) return;
    slot.closed = true;
    if (slot.successor) {
      const next = slot.successor;
      slot.successor = null;
      next.replaces = null;
      this.closeSlot(next);
    }
    try {
      slot.socket.close();
    } catch {
      // node:dgram throws on a socket closed by an error
    }
  }
}
