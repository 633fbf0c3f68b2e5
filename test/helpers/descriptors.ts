/** A process's file descriptors, and idle connections that take them (Linux /proc). */
import { readdirSync } from 'node:fs';
import net from 'node:net';

/** Descriptors `pid` holds now; -1 when it is gone. */
export function openDescriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** The lowest descriptor number `pid` does not use: a limit at it leaves none to open. */
export function firstFreeDescriptor(pid: number): number {
  const inUse = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
  let n = 0;
  while (inUse.has(n)) n++;
  return n;
}

/**
 * `count` idle TCP connections to 127.0.0.1:`port`, each from its own loopback address (so
 * per-address caps do not stop them); resolves once each connected or was closed.
 */
export async function holdIdleConnections(port: number, count: number): Promise<net.Socket[]> {
  const held: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      localAddress: `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    });
    socket.on('error', () => {});
    held.push(socket);
    await new Promise((r) => socket.once('connect', r).once('close', r));
  }
  return held;
}
