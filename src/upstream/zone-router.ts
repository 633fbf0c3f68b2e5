/**
 * Conditional forwarding: the pool for a query is the one of the longest configured zone
 * that contains the qname (e.g. `corp.example` to the domain controllers), else the default.
 * Matching works on the lower-cased wire name, so no presentation string is built per query.
 */
import { keyNameLength } from '../cache/cache-key.js';
import { nameToWire } from '../dns/name.js';
import type { UpstreamPool } from './upstream-pool.js';

interface ZoneRoute<P> {
  zone: string;
  /** The zone's lower-cased wire form, as a latin1 string. */
  wire: string;
  pool: P;
}

/** Routes to upstream pools in the server; `dnsward why --resolve` routes to single servers with it. */
export class ZoneRouter<P = UpstreamPool> {
  private readonly routes: ZoneRoute<P>[];

  constructor(
    readonly defaultPool: P,
    zones: { zone: string; pool: P }[],
  ) {
    this.routes = zones
      .map((z) => ({ zone: z.zone, wire: nameToWire(z.zone.toLowerCase()).toString('latin1'), pool: z.pool }))
      .sort((a, b) => b.wire.length - a.wire.length);
  }

  get pools(): P[] {
    return [this.defaultPool, ...this.routes.map((r) => r.pool)];
  }

  /** `questionKey` starts with the lower-cased wire qname (see cache-key.ts). */
  poolFor(questionKey: string): P {
    if (this.routes.length === 0) return this.defaultPool;
    const nameLength = keyNameLength(questionKey);
    for (const route of this.routes) {
      const offset = nameLength - route.wire.length;
      if (offset < 0 || !isLabelBoundary(questionKey, offset)) continue;
      if (questionKey.startsWith(route.wire, offset)) return route.pool;
    }
    return this.defaultPool;
  }
}

function isLabelBoundary(wireName: string, offset: number): boolean {
  let pos = 0;
  while (pos < offset) pos += wireName.charCodeAt(pos) + 1;
  return pos === offset;
}
