/**
 * Queries to one upstream over UDP, through a small set of connected sockets. Connected
 * sockets skip the per-send address lookup, and the kernel drops datagrams from any other
 * source. Each socket gets an OS-chosen random port and is replaced after `rotateAfter`
 * queries, so the source port keeps changing (RFC 5452 §9.2).
 */
import dgram from 'node:dgram';
import { constants } from 'node:os';
import type { NativeUdpBatch } from '../server/native-udp.js';
import { randomQueryId } from '../util/random-ids.js';
import { deliverAnswer, type Exchange, freeIdIn, sweepExpired, type TransportEvents } from './exchange.js';


/** What a slot needs from a socket: node:dgram, or the batched native socket. */
interface DatagramSocket {
  send(bytes: Buffer): void;
  close(): void;
}

class SocketSlot {
  readonly pending = new Map<number, Exchange>();
  readonly waiting: Exchange[] = [];
  connected = false;
  retired = false;
  sent = 0;
  socket!: DatagramSocket;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));
const NO_ADDRESS = new Int32Array(4);

export class UdpTransport {
  private slots: SocketSlot[] = [];
  private readonly retiring = new Set<SocketSlot>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly family: 4 | 6,
    socketCount: number,
    private readonly rotateAfter: number,
    private readonly events: TransportEvents,
    /** The batched native socket module; null for node:dgram. */
    private readonly native: NativeUdpBatch | null = null,
  ) {
    for (let i = 0; i < socketCount; i++) this.slots.push(this.openSlot());
  }

  get inFlight(): number {
    let n = 0;
    for (const s of this.slots) n += s.pending.size + s.waiting.length;
    for (const s of this.retiring) n += s.pending.size;
    return n;
  }

  send(ex: Exchange): void {
    let index = (Math.random() * this.slots.length) | 0;
    let slot = this.slots[index];
    if (slot.sent >= this.rotateAfter && slot.connected) {
      this.retire(slot);
      slot = this.slots[index] = this.openSlot();
    }
    ex.setId(freeIdIn(slot.pending, randomQueryId));
    slot.pending.set(ex.id, ex);
    slot.sent++;
    if (!slot.connected) {
      slot.waiting.push(ex);
      return;
    }
    slot.socket.send(ex.wire);
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
    for (const slot of [...this.slots, ...this.retiring]) {
      for (const ex of slot.pending.values()) this.events.failed(ex, 'upstream transport closed');
      slot.pending.clear();
      this.closeSlot(slot);
    }
    this.slots = [];
  }

  private openSlot(): SocketSlot {
    return this.native ? this.openNativeSlot(this.native) : this.openDgramSlot();
  }

  /**
   * On the batched native socket, queries sent while a batch of client queries is handled
   * leave together in one sendmmsg, and answers arrive in batches.
   */
  private openNativeSlot(native: NativeUdpBatch): SocketSlot {
    const slot = new SocketSlot();
    const opened = native.open(this.family === 6 ? '::' : '0.0.0.0', 0, this.family === 6, 1 << 20, false);
    const handle = opened.handle;
    native.connect(handle, this.host, this.port);
    const data = Buffer.from(opened.data);
    const meta = new Int32Array(opened.meta);
    slot.socket = {
      send: (bytes) => void native.send(handle, bytes, 0, NO_ADDRESS),
      close: () => native.close(handle),
    };
    slot.connected = true;
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
    return slot;
  }

  private openDgramSlot(): SocketSlot {
    // A larger receive buffer: answers arrive in bursts when a batch of queries went out together.
    const socket = dgram.createSocket({ type: this.family === 6 ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
    const slot = new SocketSlot();
    slot.socket = socket;
    socket.on('message', (msg) => this.onMessage(slot, msg));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(slot, err));
    // exclusive: in a cluster worker, a shared upstream socket would deliver answers to
    // whichever worker reads first.
    socket.bind({ port: 0, exclusive: true }, () => {
      socket.connect(this.port, this.host, () => {
        slot.connected = true;
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
    // On a connected socket, ICMP port-unreachable surfaces as ECONNREFUSED: the upstream is
    // not listening, so everything in flight on this socket can fail over now, not at timeout.
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

  private closeSlot(slot: SocketSlot): void {
    this.retiring.delete(slot);
    try {
      slot.socket.close();
    } catch {
      // already closed
    }
  }
}
