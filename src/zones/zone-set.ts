/**
 * The configured zones, read and checked (at config load, so a bad zone is a config error and,
 * on reload, the running zones stay), then indexed for the query path.
 */
import { readFileSync } from 'node:fs';
import type { BalanceRule } from './balance.js';
import { buildZone, type LocalZone } from './local-zone.js';
import type { ZoneSet } from './zone-answer.js';
import { parseZoneText, type ZoneRecord } from './zone-file.js';

/**
 * Who a zone answers (split horizon): queries from these policy groups and/or on these
 * listeners (names or addresses, as configured); null for any. Queries outside it go on as if
 * the zone did not exist.
 */
export interface ZoneViewRule {
  groups: string[] | null;
  listeners: string[] | null;
}

export interface ZoneSource {
  name: string;
  /** The master file's path (read at load); or `records`. */
  file?: string;
  /** Inline records: zone-file lines, relative to the zone's name. */
  records?: string[];
  balance?: BalanceRule[];
  view?: ZoneViewRule | null;
}

/** A zone as the config carries it: plain data, so it crosses to I/O threads by structured clone. */
export interface LoadedZone {
  name: string;
  source: string;
  records: ZoneRecord[];
  balance: BalanceRule[];
  view: ZoneViewRule | null;
}

/** Reads and checks one zone; throws ZoneFileError (file, line, reason) or an Error for an unreadable file. */
export function loadZone(z: ZoneSource): LoadedZone {
  const source = z.file ?? 'records';
  // One char a byte (latin1), as names and strings travel on the wire: a file's UTF-8 TXT keeps its bytes.
  const text =
    z.file !== undefined
      ? readFileSync(z.file, 'latin1')
      : Buffer.from((z.records ?? []).join('\n'), 'utf8').toString('latin1');
  const records = parseZoneText(text, { origin: z.name, file: source });
  const balance = z.balance ?? [];
  buildZone(z.name, records, source, balance);
  return { name: z.name, source, records, balance, view: z.view ?? null };
}

/**
 * Indexes loaded zones by their apex. Zones of one name (views) are chained in configuration
 * order: the first whose view admits the query answers. `listenerKey` turns a listener's name
 * or address into the ADDR:PORT key listeners carry.
 */
export function buildZoneSet(
  zones: readonly LoadedZone[],
  listenerKey: (ref: string) => string | undefined = () => undefined,
): ZoneSet {
  const set: ZoneSet = new Map<string, LocalZone>();
  const last = new Map<string, LocalZone>();
  for (const z of zones) {
    const zone = buildZone(z.name, z.records, z.source, z.balance);
    const v = z.view ?? null;
    zone.view =
      v === null
        ? null
        : {
            groups: v.groups === null ? null : new Set(v.groups),
            listeners: v.listeners === null ? null : new Set(v.listeners.map((ref) => listenerKey(ref) ?? ref)),
          };
    const before = last.get(zone.key);
    if (before === undefined) set.set(zone.key, zone);
    else before.next = zone;
    last.set(zone.key, zone);
  }
  return set;
}
