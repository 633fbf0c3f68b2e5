/**
 * Caps for a management listener (console, metrics, control socket): connections in total and
 * per client (an IPv4 address, an IPv6 /64), and an idle timeout that destroys the socket (a
 * half-close would leave it in FIN-WAIT-2, holding its descriptor and its slot, for as long as
 * the peer likes). Idle unauthenticated connections so cannot eat the descriptors DNS needs.
 *
 * At the total cap a newcomer is not refused: the least recently active connection makes room,
 * as on the DNS TCP listener. Otherwise a few addresses holding idle connections, reopened
 * before the idle timeout, would keep every operator out. No client may hold every slot either
 * (the descriptor budget can cut the total below the per-client cap).
 */
import type { Server, Socket } from 'node:net';
import { connectionOwner, ConnectionsByOwner } from './connection-owner.js';

export interface ConnectionCaps {
  maxConnections: number;
  /** Per client (ignored for Unix sockets, which have no address); at most maxConnections - 1 applies. */
  maxPerAddress: number;
  /** A connection that neither sends nor receives this long is destroyed; 0: the caller sets its own. */
  idleTimeoutMs: number;
}

export interface ConnectionCounters {
  /** Connections closed at once because their client was at its cap. */
  readonly refused: number;
  /** Connections destroyed for being idle. */
  readonly idleClosed: number;
  /** Connections closed to make room for a newcomer at the total cap. */
  readonly evicted: number;
}

/** What a connection last did, to find the least recently active one. */
interface Tracked {
  socket: Socket;
  activeAt: number;
  bytesWritten: number;
}

function perClientCap(caps: ConnectionCaps): number {
  return Math.max(1, Math.min(caps.maxPerAddress, caps.maxConnections - 1));
}

export function capConnections(server: Server, caps: ConnectionCaps): ConnectionCounters {
  const perAddress = new ConnectionsByOwner();
  const open = new Set<Tracked>();
  const counters = { refused: 0, idleClosed: 0, evicted: 0 };
  const perClient = perClientCap(caps);
  // First among the listeners, so an over-cap socket is gone before HTTP or TLS sets it up.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress === undefined ? undefined : connectionOwner(socket.remoteAddress);
    if (address !== undefined) {
      if (perAddress.atCap(address, perClient)) {
        counters.refused++;
        socket.destroy();
        return;
      }
      perAddress.add(address);
      socket.once('close', () => perAddress.remove(address));
    }
    if (open.size >= caps.maxConnections) evictLeastActive(open, counters);
    const tracked: Tracked = { socket, activeAt: performance.now(), bytesWritten: 0 };
    open.add(tracked);
    socket.on('data', () => (tracked.activeAt = performance.now()));
    socket.once('close', () => open.delete(tracked));
    if (caps.idleTimeoutMs > 0) {
      socket.setTimeout(caps.idleTimeoutMs, () => {
        counters.idleClosed++;
        socket.destroy();
      });
    }
  });
  return counters;
}

/** Closes the connection that has neither read nor written for the longest (a live stream writes). */
function evictLeastActive(open: Set<Tracked>, counters: { evicted: number }): void {
  const now = performance.now();
  let oldest: Tracked | undefined;
  for (const t of open) {
    if (t.socket.bytesWritten !== t.bytesWritten) {
      t.bytesWritten = t.socket.bytesWritten;
      t.activeAt = now;
    }
    if (oldest === undefined || t.activeAt < oldest.activeAt) oldest = t;
  }
  if (oldest === undefined) return;
  open.delete(oldest);
  counters.evicted++;
  oldest.socket.destroy();
}
