/**
 * Loads the optional batched-UDP addon (native/udp-batch.c, built by node-gyp at install).
 * When it is missing or fails to load, dnsward uses node:dgram and says why once.
 */
import { createRequire } from 'node:module';

export interface NativeUdpBatch {
  BATCH: number;
  SLOT: number;
  META: number;
  open(
    host: string,
    port: number,
    ipv6: boolean,
    receiveBuffer: number,
    reusePort: boolean,
  ): { handle: unknown; data: ArrayBuffer; meta: ArrayBuffer; port: number };
  connect(handle: unknown, host: string, port: number): void;
  /** onBatch gets the datagram count, or -errno when the socket reported an error. */
  start(handle: unknown, onBatch: (count: number) => void): void;
  send(handle: unknown, bytes: Uint8Array, port: number, addressWords: Int32Array): number;
  close(handle: unknown): void;
  sendErrors(handle: unknown): number;
  /** Raises the calling thread's nice value by n (Linux: this thread only); the new value. */
  lowerThreadPriority(by: number): number;
}

let loaded: NativeUdpBatch | null | undefined;
let failure = '';

export function loadNativeUdp(): NativeUdpBatch | null {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'linux') {
    failure = 'batched UDP I/O needs Linux (recvmmsg/sendmmsg)';
    return (loaded = null);
  }
  try {
    const require = createRequire(import.meta.url);
    loaded = require('../../../build/Release/udp_batch.node') as NativeUdpBatch;
  } catch (err) {
    failure = `native addon not loaded (${(err as Error).message.split('\n')[0]})`;
    loaded = null;
  }
  return loaded;
}

export function nativeUdpFailure(): string {
  return failure;
}
