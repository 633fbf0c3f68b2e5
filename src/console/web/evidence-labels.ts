/**
 * The stages' evidence keys (src/guard/stages/*.ts; `defence` and `flood` from the server's
 * dynamic blocks and flood detector) as an analyst reads them: a label and a unit. One table for
 * the whole console; a key not in it (a stage that grew a new one) is shown by its raw name, and
 * every shown entry keeps the raw key in its title for the CLI, the SIEM and the docs.
 */
import { bytes, num } from './dom.js';

type Unit =
  | 'bytes'
  /** Three byte counts "m/h/d": the minute, hour and day windows. */
  | 'windows'
  | 'bits'
  | 'seconds'
  | 'count'
  | 'factor'
  | 'yesno'
  | 'text'
  | 'perSecond'
  | 'ratio'
  /** Unix seconds, shown as the browser's local date and time. */
  | 'time';

const EVIDENCE: Record<string, [label: string, unit: Unit]> = {
  // anatomy
  domain: ['Registered domain', 'text'],
  subdomainBytes: ['Bytes left of the domain', 'bytes'],
  privateSuffix: ['Private suffix', 'text'],
  binaryLabels: ['Binary labels', 'count'],
  // query
  newName: ['Name never asked before', 'yesno'],
  qtypeBits: ['Query type rarity', 'bits'],
  bits: ['Information in the name', 'bits'],
  serviceNameBits: ['Information before protocol-record weighting', 'bits'],
  excessBytes: ['Encoded bytes over the allowance', 'bytes'],
  qtypeWeight: ['Query type weight', 'factor'],
  kinds: ['Label kinds', 'text'],
  longestLabel: ['Longest label', 'count'],
  // state
  pairQueries: ['Queries, this client to this domain', 'count'],
  pairNewNames: ['New names, this client to this domain', 'count'],
  pairBytes: ['Encoded bytes sent (minute / hour / day)', 'windows'],
  budgetBytes: ['Budget (minute / hour / day)', 'windows'],
  roleFactor: ["Client's role allowance", 'factor'],
  beaconSeconds: ['Beacon interval', 'seconds'],
  beaconVariation: ['Beacon interval variation', 'ratio'],
  clientEncodedDayBytes: ["Client's encoded bytes today, all domains", 'bytes'],
  // normal
  encoderMultiplier: ['Legitimate-encoder allowance', 'factor'],
  clients: ['Clients using the domain', 'count'],
  ageSeconds: ['Domain known for', 'seconds'],
  activeHours: ['Hours the domain was active', 'count'],
  stableTemplate: ['Names follow one template', 'yesno'],
  knownEncoder: ['Documented encoder', 'text'],
  recognisedEncoder: ['Recognised heavy encoder', 'yesno'],
  sharedLabels: ['Labels shared between clients', 'count'],
  // decision
  action: ['Action', 'text'],
  scope: ['Scope', 'text'],
  leakedBytes: ['Estimated bytes leaked', 'bytes'],
  incident: ['Incident', 'text'],
  blockedUntil: ['Blocked until', 'time'],
  // defence (dynamic blocks)
  rule: ['Rule', 'text'],
  metric: ['Measured', 'text'],
  prefix: ['Client prefix', 'text'],
  observedPerSecond: ['Observed rate', 'perSecond'],
  limitPerSecond: ['Limit', 'perSecond'],
  windowSeconds: ['Window', 'seconds'],
  until: ['Until', 'text'],
  // flood
  newNamesPerSecond: ['New names', 'perSecond'],
  failuresPerSecond: ['Failures', 'perSecond'],
  normalNewNames: ['Normal new names', 'perSecond'],
  normalFailures: ['Normal failures', 'perSecond'],
  allowedRate: ['Allowed rate', 'perSecond'],
  newNamesDuring: ['New names during the flood', 'count'],
  peakNewNames: ['Peak new names', 'perSecond'],
  mode: ['Mode', 'text'],
};

function duration(s: number): string {
  if (s < 120) return `${num(s, 1)} s`;
  if (s < 7200) return `${num(s / 60, 1)} min`;
  if (s < 172_800) return `${num(s / 3600, 1)} h`;
  return `${num(s / 86_400, 1)} days`;
}

function formatValue(value: number | string | boolean | string[], unit: Unit): string {
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (unit === 'windows' && typeof value === 'string')
    return value
      .split('/')
      .map((v) => (Number.isFinite(Number(v)) ? bytes(Number(v)) : v))
      .join(' / ');
  if (typeof value !== 'number') return String(value);
  switch (unit) {
    case 'bytes':
      return bytes(value);
    case 'bits':
      return `${num(value, 1)} bits`;
    case 'seconds':
      return duration(value);
    case 'factor':
      return `×${num(value, 2)}`;
    case 'perSecond':
      return `${num(value, 1)}/s`;
    case 'time':
      return new Date(value * 1000).toLocaleString();
    default:
      return num(value, 2);
  }
}

/** A piece of evidence for display: its label (the raw key when unknown), its value with unit, and the raw key. */
export function evidenceLabel(
  key: string,
  value: number | string | boolean | string[],
): { label: string; value: string; key: string; known: boolean } {
  const entry = EVIDENCE[key];
  if (entry === undefined) return { label: key, value: formatValue(value, 'text'), key, known: false };
  return { label: entry[0], value: formatValue(value, entry[1]), key, known: true };
}
