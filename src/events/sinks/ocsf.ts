/**
 * A security event in OCSF (Open Cybersecurity Schema Framework 1.3): DNS Activity (class 4003,
 * category Network Activity) with the Security Control profile's action and disposition. Events
 * about a query (tunnel detected, blocks) are activity 6 "Traffic" (a query and dnsward's answer);
 * operator changes and fail-open are activity 99 "Other", named by activity_name. dnsward's own
 * fields (the stage trace, samples, bytes leaked) go under `unmapped.dnsward`, as OCSF intends for
 * source data it has no attribute for.
 */
import { packageVersion } from '../../util/package-version.js';
import type { SecurityEvent } from '../security-event.js';

const CLASS_UID = 4003;
const CATEGORY_UID = 4;
const ACTIVITY_TRAFFIC = 6;
const ACTIVITY_OTHER = 99;
const ACTION = { ALLOWED: 1, DENIED: 2 } as const;
const DISPOSITION = { ALLOWED: 1, BLOCKED: 2, QUARANTINED: 3, DETECTED: 15 } as const;

/** OCSF severity_id (1 Informational … 5 Critical) from dnsward's CEF-style 1–10. */
function severityId(s: number): number {
  return s >= 9 ? 5 : s >= 8 ? 4 : s >= 6 ? 3 : s >= 4 ? 2 : 1;
}
const SEVERITY_NAMES = ['Unknown', 'Informational', 'Low', 'Medium', 'High', 'Critical'];

function outcome(e: SecurityEvent): { action_id: number; action: string; disposition_id: number; disposition: string } {
  const denied = (disposition_id: number, disposition: string) => ({
    action_id: ACTION.DENIED,
    action: 'Denied',
    disposition_id,
    disposition,
  });
  const allowed = (disposition_id: number, disposition: string) => ({
    action_id: ACTION.ALLOWED,
    action: 'Allowed',
    disposition_id,
    disposition,
  });
  switch (e.type) {
    case 'domain_blocked':
    case 'query_blocked':
    case 'policy_blocked':
      return e.enforced === false ? allowed(DISPOSITION.DETECTED, 'Detected') : denied(DISPOSITION.BLOCKED, 'Blocked');
    case 'client_quarantined':
      return denied(DISPOSITION.QUARANTINED, 'Quarantined');
    case 'client_rate_blocked':
      return denied(DISPOSITION.BLOCKED, 'Blocked');
    case 'tunnel_detected':
      return allowed(DISPOSITION.DETECTED, 'Detected');
    default:
      return allowed(DISPOSITION.ALLOWED, 'Allowed');
  }
}

const QUERY_EVENTS = new Set<SecurityEvent['type']>([
  'tunnel_detected',
  'domain_blocked',
  'query_blocked',
  'policy_blocked',
]);

export function toOcsf(e: SecurityEvent): Record<string, unknown> {
  const activity = QUERY_EVENTS.has(e.type) ? ACTIVITY_TRAFFIC : ACTIVITY_OTHER;
  const sev = severityId(e.severity);
  const observables: Array<Record<string, unknown>> = [];
  if (e.domain !== undefined)
    observables.push({ name: 'query.hostname', type_id: 1, type: 'Hostname', value: e.qname ?? e.domain });
  if (e.client !== undefined)
    observables.push({ name: 'src_endpoint.ip', type_id: 2, type: 'IP Address', value: e.client });
  return {
    class_uid: CLASS_UID,
    class_name: 'DNS Activity',
    category_uid: CATEGORY_UID,
    category_name: 'Network Activity',
    activity_id: activity,
    activity_name: activity === ACTIVITY_TRAFFIC ? 'Traffic' : e.type,
    type_uid: CLASS_UID * 100 + activity,
    time: Date.parse(e.time),
    severity_id: sev,
    severity: SEVERITY_NAMES[sev],
    status_id: 1,
    status: 'Success',
    message: e.reasons[0] ?? e.type,
    ...outcome(e),
    metadata: {
      version: '1.3.0',
      uid: e.id,
      ...(e.incident === undefined ? {} : { correlation_uid: e.incident }),
      product: {
        name: 'dnsward',
        vendor_name: 'dnsward',
        version: packageVersion(),
        feature: {
          name:
            e.type === 'policy_blocked'
              ? 'Response Policy'
              : e.type.startsWith('client_rate_')
                ? 'Dynamic Blocks'
                : 'Tunnel Guard',
        },
      },
      profiles: ['security_control'],
      logged_time: Date.now(),
    },
    device: { hostname: e.node },
    ...(e.client === undefined ? {} : { src_endpoint: { ip: e.client } }),
    ...(e.domain === undefined ? {} : { query: { hostname: e.qname ?? e.domain } }),
    ...(e.operator === undefined ? {} : { actor: { user: { name: e.operator } } }),
    observables,
    ...(e.policy === undefined
      ? {}
      : {
          firewall_rule: {
            name: e.policy.rule,
            uid: `${e.policy.feed}:${e.policy.line}`,
            category: e.policy.category,
            version: e.policy.version,
            type: 'response-policy',
          },
        }),
    unmapped: {
      dnsward: {
        type: e.type,
        policy: e.policy,
        domain: e.domain,
        incident: e.incident,
        enforced: e.enforced,
        leaked_bytes: e.leakedBytes,
        samples: e.samples,
        reasons: e.reasons,
        stages: e.stages,
      },
    },
  };
}
