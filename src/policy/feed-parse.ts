/** Feed text to a rule table, in whichever thread runs it (the feed worker, or a test). */
import { parseRpzZone } from './formats/rpz-zone.js';
import { detectFormat, parseAdblock, parseDomainList, parseHosts } from './formats/list-formats.js';
import type { IpRule } from './ip-rule-set.js';
import type { ParseResult } from './policy-rule.js';
import type { RuleSetData } from './rule-set.js';

export type FeedFormat = 'rpz' | 'hosts' | 'domains' | 'adblock' | 'auto';

export interface ParsedFeed {
  format: Exclude<FeedFormat, 'auto'>;
  table: RuleSetData;
  ipRules: IpRule[];
  clientIpRules: IpRule[];
  rules: number;
  skipped: Record<string, number>;
  errors: number;
  errorExamples: string[];
  serial?: number;
  /** Why the feed was refused, when it was (the last good version stays in force). */
  refused?: string;
}

/** A feed's bytes (as read or downloaded: the parsers never make a string per line) or text. */
export function parseFeed(content: Uint8Array | string, format: FeedFormat, zone?: string): ParsedFeed {
  const bytes =
    typeof content === 'string'
      ? Buffer.from(content)
      : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const f = format === 'auto' ? detectFormat(bytes) : format;
  const parsed: ParseResult =
    f === 'rpz'
      ? parseRpzZone(bytes, zone)
      : f === 'hosts'
        ? parseHosts(bytes)
        : f === 'adblock'
          ? parseAdblock(bytes)
          : parseDomainList(bytes);
  const table = parsed.table;
  const rules = table.count;
  let refused: string | undefined;
  // A feed that is mostly garbage is a broken download or the wrong file, not a policy.
  if (rules + parsed.ipRules.length + parsed.clientIpRules.length === 0 && parsed.errors > 0)
    refused = `no usable rule and ${parsed.errors} bad lines (${parsed.errorExamples.join('; ')})`;
  else if (parsed.errors > Math.max(10, rules * 0.1))
    refused = `${parsed.errors} bad lines for ${rules} rules (${parsed.errorExamples.join('; ')})`;
  return {
    format: f,
    table,
    ipRules: parsed.ipRules,
    clientIpRules: parsed.clientIpRules,
    rules: table.count + parsed.ipRules.length + parsed.clientIpRules.length,
    skipped: parsed.skipped,
    errors: parsed.errors,
    errorExamples: parsed.errorExamples,
    serial: parsed.serial,
    refused,
  };
}
