/**
 * `unblock-client`: lifts the dynamic blocks (defence.dynamicBlocks) on a client address or
 * range; the data planes get the new list at once and the other nodes of a cluster the lift.
 */
import { securityEvent } from '../../events/security-event.js';
import type { ControlRequest } from '../control-protocol.js';
import type { OperatorHost } from '../operator-host.js';

export function unblockClient(host: OperatorHost, request: Extract<ControlRequest, { cmd: 'unblock-client' }>) {
  const lifted = host.dynamicBlocks.lift(request.client);
  if (lifted.length === 0) throw new Error(`${request.client} has no dynamic block`);
  host.publishDynamicBlocks();
  const prefixes = lifted.map((b) => b.prefix);
  const cluster = host.cluster;
  for (const prefix of prefixes) cluster?.share(cluster.rates.lift(prefix, Date.now(), request.who));
  host.auditChange(request.who, 'unblock-client', request.client, { prefixes }, request.comment);
  host.events.publish(
    securityEvent({
      type: 'client_rate_unblocked',
      severity: 3,
      operator: request.who,
      client: request.client.split('/')[0],
      reasons: [`dynamic block of ${prefixes.join(', ')} lifted by ${request.who}`],
      stages: [],
    }),
  );
  return { client: request.client, lifted: prefixes };
}
