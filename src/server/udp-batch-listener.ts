/**
 * UDP listener on the batched native socket: one JavaScript call per batch of up to 32
 * datagrams, and the replies produced during it leave in one sendmmsg. Replies produced later
 * (cache misses answered by an upstream) are sent at once with sendto.
 */
import type { Pipeline } from '../pipeline/pipeline.js';
import { QueryContext, type ReplySink } from '../pipeline/query-context.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { ipv4Text, ipv6Text } from '../util/ip-text.js';
import type { NativeUdpBatch } from '../net/native-udp.js';

/** The client's raw address, kept as numbers: a typed array per query would cost an ArrayBuffer each. */
class NativePeer {
  constructor(
    readonly w0: number,
    readonly w1: number,
    readonly w2: number,
    readonly w3: number,
  ) {}
}

export class UdpBatchListener implements ReplySink {
  get listenerKey(): string {
    return (this.key ??= formatHostPort(this.address));
  }
  private key: string | undefined;
  private readonly peerWords = new Int32Array(4);
  private handle: unknown = null;
  private data: Buffer = Buffer.alloc(0);
  private meta: Int32Array = new Int32Array(0);
  private metaBytes: Uint8Array = new Uint8Array(0);
  private port = 0;
  /** Datagrams larger than a receive slot (4 KiB): never a valid query here. */
  oversized = 0;
  private accepting = true;

  constructor(
    readonly address: HostPort,
    private pipeline: Pipeline,
    private readonly native: NativeUdpBatch,
    private readonly receiveBufferBytes: number,
    private readonly reusePort: boolean,
  ) {}

  listen(): Promise<void> {
    const opened = this.native.open(
      this.address.host,
      this.address.port,
      this.address.family === 6,
      this.receiveBufferBytes,
      this.reusePort,
    );
    this.handle = opened.handle;
    this.data = Buffer.from(opened.data);
    this.meta = new Int32Array(opened.meta);
    this.metaBytes = new Uint8Array(opened.meta);
    this.port = opened.port;
    this.native.start(this.handle, (count) => this.onBatch(count));
    return Promise.resolve();
  }

  get boundPort(): number {
    return this.port;
  }

  setPipeline(pipeline: Pipeline): void {
    this.pipeline = pipeline;
  }

  get sendErrors(): number {
    return this.handle ? this.native.sendErrors(this.handle) : 0;
  }

  private onBatch(count: number): void {
    if (!this.accepting) return;
    const { META, SLOT } = this.native;
    const now = performance.now();
    // count < 0 is a socket error (-errno); an unbound listener has nothing to fail over.
    for (let i = 0; i < count; i++) {
      const m = i * META;
      if (this.meta[m + 3] !== 0) {
        this.oversized++;
        continue;
      }
      const length = this.meta[m];
      // A copy: the slot is reused by the next batch, and a miss outlives this one.
      const request = Buffer.allocUnsafe(length);
      this.data.copy(request, 0, i * SLOT, i * SLOT + length);
      const ipv6 = this.meta[m + 2] === 6;
      const text = ipv6 ? ipv6Text(this.metaBytes, (m + 4) * 4) : ipv4Text(this.metaBytes, (m + 4) * 4);
      const peer = new NativePeer(this.meta[m + 4], this.meta[m + 5], this.meta[m + 6], this.meta[m + 7]);
      this.pipeline.start(new QueryContext(request, 'udp', text, this.meta[m + 1], this, peer, now));
    }
  }

  send(ctx: QueryContext, answer: Buffer): void {
    const peer = ctx.connection as NativePeer;
    const words = this.peerWords;
    words[0] = peer.w0;
    words[1] = peer.w1;
    words[2] = peer.w2;
    words[3] = peer.w3;
    this.native.send(this.handle, answer, ctx.clientPort, words);
  }

  drop(): void {}

  /** Shutdown, first step: new queries are ignored, answers to those in flight still go out. */
  stopAccepting(): void {
    this.accepting = false;
  }

  close(): Promise<void> {
    if (this.handle) this.native.close(this.handle);
    this.handle = null;
    return Promise.resolve();
  }
}
