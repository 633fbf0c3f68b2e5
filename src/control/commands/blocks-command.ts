/**
 * `blocks`: what is blocked, allowed and quarantined now (Tunnel Guard's blocks, the operators'
 * allows and quarantines, dynamic blocks), the cluster link and the latest audited changes.
 * Read only. A decision with no origin was made on this node.
 */
import type { BlocksReply } from '../blocks-reply.js';
import type { OperatorHost } from '../operator-host.js';

export function listBlocks(host: OperatorHost, now: number): BlocksReply {
  const { guard, cluster } = host;
  const here = cluster?.node ?? null;
  return {
    mode: host.guardMode,
    blocks: guard.activeBlocks(now).map((b) => ({
      domain: b.domain,
      scope: b.scope,
      incident: b.incident,
      since: b.since,
      until: b.until,
      offenses: b.offenses,
      client: b.client,
      leakedBytes: b.leaked,
      reasons: b.reasons,
      stages: b.stages,
      origin: b.origin ?? here,
    })),
    allows: guard.overrides
      .filter((o) => o.until > now)
      .map(({ match: _m, ...o }) => ({ ...o, origin: o.origin ?? here })),
    quarantines: guard.quarantines
      .filter((q) => q.until > now)
      .map(({ match: _m, ...q }) => ({ ...q, origin: q.origin ?? here })),
    dynamic: host.dynamicBlocks
      .list()
      .map(({ key: _k, ...b }) => ({ ...b, since: b.since / 1000, until: b.until / 1000 })),
    cluster: cluster === null ? null : { node: cluster.node, connected: cluster.sync.connected },
    audit: host.auditLog(20),
  };
}
