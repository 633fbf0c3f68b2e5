/**
 * A tiny UDP relay that hands each DNS query it receives to the next of several resolvers in
 * turn (A, B, A, B, …) and the answer back to whoever asked: what a client behind ECMP, or one
 * with two resolver addresses that fails over between them, looks like to the resolvers. It is
 * a relay, not a mock: it does not read or change the messages beyond their 16-bit id (to route
 * an answer back). Used because a real tunnel client (dns2tcpc) takes one resolver address.
 *
 * The resolvers see the relay's address (one socket per resolver, on 127.0.0.1) as the client.
 * Bounded: at most MAX_PENDING queries awaiting an answer (the oldest forgotten first).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

const MAX_PENDING = 4096;

export class AlternatingRelay {
  /** Queries handed to each resolver, in the order given. */
  readonly sent: number[];
  private readonly upstreams: Socket[];
  private readonly pending = new Map<string, RemoteInfo>();
  private next = 0;

  private constructor(
    private readonly listener: Socket,
    private readonly targets: number[],
  ) {
    this.sent = targets.map(() => 0);
    this.upstreams = targets.map((_, i) => {
      const s = createSocket('udp4');
      s.on('message', (msg) => this.answer(i, msg));
      s.on('error', () => {});
      return s;
    });
    listener.on('message', (msg, rinfo) => this.forward(msg, rinfo));
    listener.on('error', () => {});
  }

  /** Listens on `host:port` and relays to the resolvers on 127.0.0.1 at `targets` (ports), in turn. */
  static async start(host: string, port: number, targets: number[]): Promise<AlternatingRelay> {
    const listener = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.bind(port, host, () => resolve());
    });
    const relay = new AlternatingRelay(listener, targets);
    await Promise.all(relay.upstreams.map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    return relay;
  }

  private forward(msg: Buffer, from: RemoteInfo): void {
    if (msg.length < 12) return;
    const i = this.next++ % this.targets.length;
    const key = `${i}:${msg.readUInt16BE(0)}`;
    this.pending.delete(key);
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(key, from);
    this.sent[i]++;
    this.upstreams[i].send(msg, this.targets[i], '127.0.0.1');
  }

  private answer(i: number, msg: Buffer): void {
    if (msg.length < 12) return;
    const key = `${i}:${msg.readUInt16BE(0)}`;
    const to = this.pending.get(key);
    if (to === undefined) return;
    this.pending.delete(key);
    this.listener.send(msg, to.port, to.address);
  }

  close(): void {
    this.listener.close();
    for (const s of this.upstreams) s.close();
  }
}
