/** A security event as an Elastic Common Schema document (ECS 8.x field names). */
import type { SecurityEvent } from '../security-event.js';

export function toEcs(e: SecurityEvent): Record<string, unknown> {
  const blocked = e.enforced === true && (e.action === 'block' || e.type === 'client_rate_blocked');
  return {
    '@timestamp': e.time,
    message: e.reasons[0] ?? e.type,
    event: {
      id: e.id,
      kind: e.type === 'detector_fail_open' ? 'event' : 'alert',
      category: ['network', 'intrusion_detection'],
      type: blocked ? ['denied'] : ['info'],
      action: e.type,
      severity: e.severity,
      module: 'dnsward',
      dataset: 'dnsward.security',
      reason: e.reasons.join('; '),
    },
    observer: { hostname: e.node, vendor: 'dnsward', product: 'dnsward', type: 'dns' },
    ...(e.client === undefined ? {} : { source: { ip: e.client } }),
    dns: {
      question: {
        ...(e.qname === undefined ? {} : { name: e.qname }),
        ...(e.domain === undefined ? {} : { registered_domain: e.domain }),
      },
    },
    rule: e.type.startsWith('client_rate_')
      ? { name: 'Dynamic blocks', ...(e.incident === undefined ? {} : { id: e.incident }) }
      : e.policy === undefined
        ? { name: 'Tunnel Guard', ...(e.incident === undefined ? {} : { id: e.incident }) }
        : {
            name: e.policy.rule,
            id: `${e.policy.feed}:${e.policy.line}`,
            category: e.policy.category,
            ruleset: e.policy.feed,
            version: e.policy.version,
          },
    ...(e.operator === undefined ? {} : { user: { name: e.operator } }),
    dnsward: {
      incident: e.incident,
      leaked_bytes: e.leakedBytes,
      samples: e.samples,
      enforced: e.enforced,
      stages: e.stages,
    },
  };
}
