/**
 * Tunnel Guard's operator decisions: `allow` (and its removal), `unblock`, `quarantine`,
 * `release`, `monitor`. A change is applied, then saved with its audit entry in one small
 * transaction (the operator row, not a snapshot of everything learned: that took seconds on the
 * event loop with a big guard); when the save fails (disk full) the change is undone and the
 * error says so. Each decision is then an event, and shared with the other nodes of a cluster.
 */
import { securityEvent } from '../../events/security-event.js';
import type { SecurityEventType } from '../../events/security-event-types.js';
import { anatomize } from '../../guard/name-anatomy.js';
import { labelsFromText } from '../../guard/name-text.js';
import type { ControlRequest } from '../control-protocol.js';
import type { OperatorHost } from '../operator-host.js';

type Request<C extends ControlRequest['cmd']> = Extract<ControlRequest, { cmd: C }>;

/** Saves the change with its audit entry, or undoes it and throws when it cannot be saved. */
function persist(
  host: OperatorHost,
  who: string,
  action: string,
  subject: string,
  detail: object,
  undo: () => void,
  comment: string | undefined,
) {
  try {
    host.saveOperator({
      at: Date.now(),
      who,
      action,
      subject,
      detail: JSON.stringify(detail),
      ...(comment === undefined ? {} : { comment }),
    });
  } catch (err) {
    undo();
    throw new Error(`${action} ${subject} not applied: it could not be saved (${(err as Error).message})`);
  }
}

const EVENT_OF: Record<'allow' | 'unblock' | 'quarantine' | 'release', SecurityEventType> = {
  allow: 'allow_override',
  unblock: 'domain_unblocked',
  quarantine: 'client_quarantined',
  release: 'client_released',
};

/** Saves the change (see persist) and publishes it as an event naming the operator. */
function audit(
  host: OperatorHost,
  who: string,
  action: keyof typeof EVENT_OF,
  subject: string,
  detail: object,
  undo: () => void,
  comment: string | undefined,
) {
  persist(host, who, action, subject, detail, undo, comment);
  const isClient = action === 'quarantine' || action === 'release';
  host.events.publish(
    securityEvent({
      type: EVENT_OF[action],
      severity: 3,
      operator: who,
      ...(isClient ? { client: subject } : { domain: subject }),
      reasons: [
        `${action} ${subject} by ${who}`,
        JSON.stringify(detail),
        ...(comment === undefined ? [] : [`comment: ${comment}`]),
      ],
      stages: [],
    }),
  );
}

/** The registered domain of a name an operator typed (decisions apply to whole registered domains). */
function registered(name: string): string {
  const labels = labelsFromText(name.toLowerCase());
  if (labels.length === 0) throw new Error(`"${name}" is not a domain name`);
  return anatomize(labels).registeredDomain;
}

export function allow(host: OperatorHost, request: Request<'allow'>, now: number) {
  const { guard } = host;
  if (request.domain === undefined && request.client === undefined)
    throw new Error('allow needs a domain, a client range, or both');
  const domain = request.domain === undefined ? undefined : registered(request.domain);
  const overrides = guard.overrides;
  const lifted = domain !== undefined && request.client === undefined ? guard.blocksOn(domain) : [];
  guard.allow({ domain, client: request.client, until: now + request.seconds, by: request.who, at: now });
  const result = { domain, client: request.client, until: now + request.seconds };
  audit(
    host,
    request.who,
    'allow',
    domain ?? request.client!,
    result,
    () => {
      guard.overrides = overrides;
      guard.restoreBlocks(lifted);
    },
    request.comment,
  );
  host.cluster?.share(
    host.cluster.decisions.allow({
      domain,
      client: request.client,
      until: now + request.seconds,
      by: request.who,
      at: now,
    }),
  );
  return result;
}

export function disallow(host: OperatorHost, request: Request<'disallow'>, now: number) {
  const { guard } = host;
  if (request.domain === undefined && request.client === undefined)
    throw new Error('allow --remove needs a domain, a client range, or both');
  const domain = request.domain === undefined ? undefined : registered(request.domain);
  const overrides = guard.overrides;
  const removed = guard.disallow(domain, request.client);
  if (removed === 0)
    throw new Error(
      `no allow of ${domain ?? 'every domain'}${request.client === undefined ? '' : ` from ${request.client}`}`,
    );
  const result = { domain, client: request.client, removed };
  persist(
    host,
    request.who,
    'disallow',
    domain ?? request.client!,
    result,
    () => (guard.overrides = overrides),
    request.comment,
  );
  // Shared as an allow that ends in a second: every node lets it expire, newest wins as for any allow.
  host.cluster?.share(
    host.cluster.decisions.allow({ domain, client: request.client, until: now + 1, by: request.who, at: now }),
  );
  return result;
}

export function unblock(host: OperatorHost, request: Request<'unblock'>, now: number) {
  const { guard } = host;
  const domain = registered(request.domain);
  const lifted = guard.blocksOn(domain);
  const unblocked = new Map(guard.unblocked);
  if (!guard.unblock(domain, now)) throw new Error(`${domain} is not blocked`);
  const result = { domain, blocks: lifted.length };
  audit(
    host,
    request.who,
    'unblock',
    domain,
    {},
    () => {
      guard.restoreBlocks(lifted);
      guard.unblocked = unblocked;
    },
    request.comment,
  );
  host.cluster?.share(host.cluster.decisions.unblock(domain, now, request.who));
  return result;
}

export function quarantine(host: OperatorHost, request: Request<'quarantine'>, now: number) {
  const { guard } = host;
  const quarantines = guard.quarantines;
  const q = guard.quarantine({ client: request.client, until: now + request.seconds, by: request.who, at: now });
  const result = { client: q.client, until: q.until, incident: q.incident };
  audit(host, request.who, 'quarantine', q.client, result, () => (guard.quarantines = quarantines), request.comment);
  host.cluster?.share(host.cluster.decisions.quarantine(q));
  return result;
}

export function release(host: OperatorHost, request: Request<'release'>, now: number) {
  const { guard } = host;
  const quarantines = guard.quarantines;
  if (!guard.release(request.client)) throw new Error(`${request.client} is not quarantined`);
  const result = { client: request.client };
  audit(host, request.who, 'release', request.client, {}, () => (guard.quarantines = quarantines), request.comment);
  host.cluster?.share(host.cluster.decisions.release(request.client, now, request.who));
  return result;
}

/**
 * A temporary monitor-only period (a new network, a suspected false positive); the configured
 * mode comes back by itself when it expires, also after a restart. 0 seconds ends it now.
 */
export function monitor(host: OperatorHost, request: Request<'monitor'>, now: number) {
  const previous = host.monitorUntil;
  host.setMonitor(request.seconds > 0 ? now + request.seconds : null);
  const result = { mode: host.guardMode, until: host.monitorUntil };
  persist(host, request.who, 'monitor', 'tunnel-guard', result, () => host.setMonitor(previous), request.comment);
  return result;
}
