/**
 * ArcSight Common Event Format for a security event: `CEF:0|vendor|product|version|id|name|
 * severity|extensions`. Header fields escape `\` and `|`; extension values escape `\`, `=` and
 * line breaks (CEF implementation standard, rev. 25). The stage trace goes in `cs6` as
 * `stage:score` pairs; the full trace stays in the JSON sinks.
 */
import { packageVersion } from '../../util/package-version.js';
import type { SecurityEvent } from '../security-event.js';

const header = (v: string) => v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
const value = (v: string) => v.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r?\n/g, '\\n');

const NAMES: Record<SecurityEvent['type'], string> = {
  tunnel_detected: 'DNS tunnel detected',
  domain_blocked: 'DNS tunnel domain blocked',
  query_blocked: 'DNS tunnel query blocked',
  domain_unblocked: 'Domain unblocked by operator',
  client_quarantined: 'Client quarantined by operator',
  client_released: 'Client released by operator',
  allow_override: 'Allow override by operator',
  detector_fail_open: 'Tunnel Guard failed open',
  policy_blocked: 'Response policy blocked a query',
  client_rate_blocked: 'Client dynamically blocked for its traffic rate',
  client_rate_unblocked: 'Client dynamic block lifted by operator',
  flood_detected: 'Random-subdomain flood detected',
  flood_ended: 'Random-subdomain flood ended',
};

export function toCef(e: SecurityEvent): string {
  const ext: Array<[string, string | number | undefined]> = [
    ['rt', Date.parse(e.time)],
    ['dvchost', e.node],
    ['src', e.client],
    ['act', e.action === undefined ? undefined : `${e.action}${e.enforced === false ? ' (monitor)' : ''}`],
    ['cs1Label', e.domain === undefined ? undefined : 'domain'],
    ['cs1', e.domain],
    ['cs2Label', e.incident === undefined ? undefined : 'incident'],
    ['cs2', e.incident],
    ['cs3Label', e.qname === undefined ? undefined : 'qname'],
    ['cs3', e.qname],
    ['cn1Label', e.leakedBytes === undefined ? undefined : 'leakedBytes'],
    ['cn1', e.leakedBytes === undefined ? undefined : Math.round(e.leakedBytes)],
    ['suser', e.operator],
    ['cs4Label', e.policy === undefined ? undefined : 'policy'],
    [
      'cs4',
      e.policy === undefined
        ? undefined
        : `${e.policy.category} ${e.policy.feed} ${e.policy.version} ${e.policy.rule} line ${e.policy.line} group ${e.policy.group}`,
    ],
    ['cs6Label', e.stages.length ? 'stages' : undefined],
    ['cs6', e.stages.length ? e.stages.map((s) => `${s.name}:${s.score}`).join(' ') : undefined],
    ['msg', e.reasons.join('; ') || undefined],
    ['externalId', e.id],
  ];
  const extensions = ext
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${value(String(v))}`)
    .join(' ');
  return `CEF:0|dnsward|dnsward|${packageVersion()}|${header(e.type)}|${header(NAMES[e.type])}|${e.severity}|${extensions}`;
}
