/**
 * The configured zones, read and checked (at config load, so a bad zone is a config error and,
 * on reload, the running zones stay), then indexed for the query path.
 */
import { readFileSync } from 'node:fs';
import type { BalanceRule } from './balance.js';
import { buildZone, type LocalZone, wireKey } from './local-zone.js';
import type { ZoneSet } from './zone-answer.js';
import { parseZoneText, type ZoneRecord } from './zone-file.js';

export interface ZoneSource {
  name: string;
  /** The master file's path (read at load); or `records`. */
  file?: string;
  /** Inline records: zone-file lines, relative to the zone's name. */
  records?: string[];
  balance?: BalanceRule[];
}

/** A zone as the config carries it: plain data, so it crosses to I/O threads by structured clone. */
export interface LoadedZone {
  name: string;
  source: string;
  records: ZoneRecord[];
  balance: BalanceRule[];
}

/** Reads and checks one zone; throws ZoneFileError (file, line, reason) or an Error for an unreadable file. */
export function loadZone(z: ZoneSource): LoadedZone {
  const source = z.file ?? 'records';
  // One char a byte (latin1), as names and strings travel on the wire: a file's UTF-8 TXT keeps its bytes.
  const text = z.file !== undefined ? readFileSync(z.file, 'latin1') : Buffer.from((z.records ?? []).join('\n'), 'utf8').toString('latin1');
  const records = parseZoneText(text, { origin: z.name, file: source });
  const balance = z.balance ?? [];
  buildZone(z.name, records, source, balance);
  return { name: z.name, source, records, balance };
}

/** Indexes loaded zones by their apex. */
export function buildZoneSet(zones: readonly LoadedZone[]): ZoneSet {
  const set: ZoneSet = new Map<string, LocalZone>();
  for (const z of zones) set.set(wireKey(z.name === '.' ? '' : z.name.replace(/\.$/, '')), buildZone(z.name, z.records, z.source, z.balance));
  return set;
}
