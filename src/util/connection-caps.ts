/**
 * Caps for a management listener (console, metrics, control socket): connections in total and
 * per client address, and an idle timeout that destroys the socket (a half-close would leave it
 * in FIN-WAIT-2, holding its descriptor and its slot, for as long as the peer likes). Idle
 * unauthenticated connections so cannot eat the descriptors DNS needs.
 */
import type { Server, Socket } from 'node:net';
import { connectionOwner } from './connection-owner.js';

export interface ConnectionCaps {
  maxConnections: number;
  /** Per client address (ignored for Unix sockets, which have none). */
  maxPerAddress: number;
  /** A connection that neither sends nor receives this long is destroyed; 0: the caller sets its own. */
  idleTimeoutMs: number;
}

export interface ConnectionCounters {
  /** Connections closed at once because the total or their address was at its cap. */
  readonly refused: number;
  /** Connections destroyed for being idle. */
  readonly idleClosed: number;
}

export function capConnections(server: Server, caps: ConnectionCaps): ConnectionCounters {
  const perAddress = new Map<string, number>();
  const counters = { refused: 0, idleClosed: 0 };
  // Past the total, Node closes the accepted handle before making a socket of it ('drop').
  server.maxConnections = caps.maxConnections;
  server.on('drop', () => counters.refused++);
  // First among the listeners, so an over-cap socket is gone before HTTP or TLS sets it up.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress === undefined ? undefined : connectionOwner(socket.remoteAddress);
    if (address !== undefined) {
      const n = perAddress.get(address) ?? 0;
      if (n >= caps.maxPerAddress) {
        counters.refused++;
        socket.destroy();
        return;
      }
      perAddress.set(address, n + 1);
      socket.once('close', () => {
        const left = (perAddress.get(address) ?? 1) - 1;
        if (left <= 0) perAddress.delete(address);
        else perAddress.set(address, left);
      });
    }
    if (caps.idleTimeoutMs > 0) {
      socket.setTimeout(caps.idleTimeoutMs, () => {
        counters.idleClosed++;
        socket.destroy();
      });
    }
  });
  return counters;
}
