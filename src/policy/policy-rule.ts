/** Policy rules as the feed parsers produce them, whatever the feed's format. */
import type { IpRule } from './ip-rule-set.js';
import type { RuleSetData } from './rule-set.js';
import { RuleTableBuilder } from './rule-table-builder.js';

export type { LocalRecord, RuleAction, RuleScope } from './rule-types.js';

export interface ParseResult {
  table: RuleSetData;
  /** RPZ response-IP (rpz-ip) rules. */
  ipRules: IpRule[];
  /** RPZ client-IP (rpz-client-ip) rules. */
  clientIpRules: IpRule[];
  /** Lines read but not used, by reason (unsupported syntax, triggers a forwarder cannot see, …). */
  skipped: Record<string, number>;
  /** Lines that are wrong (a bad name, a record that does not parse), with the first few examples. */
  errors: number;
  errorExamples: string[];
  /** Declared serial (RPZ SOA) when there is one. */
  serial?: number;
}

export class ParseCollector {
  readonly rules = new RuleTableBuilder();
  readonly ipRules: IpRule[] = [];
  readonly clientIpRules: IpRule[] = [];
  readonly skipped: Record<string, number> = {};
  errors = 0;
  readonly errorExamples: string[] = [];
  serial?: number;

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  error(line: number, message: string): void {
    this.errors++;
    if (this.errorExamples.length < 5) this.errorExamples.push(`line ${line}: ${message}`);
  }

  result(): ParseResult {
    return {
      table: this.rules.build(),
      ipRules: this.ipRules,
      clientIpRules: this.clientIpRules,
      skipped: this.skipped,
      errors: this.errors,
      errorExamples: this.errorExamples,
      serial: this.serial,
    };
  }
}

/**
 * A lower-cased name without its trailing dot when it is a valid host-style name (letters,
 * digits, `_`, inner `-`; labels of 1–63; `*` only as a whole first label); undefined otherwise.
 * A character loop, not a regex per label: feeds have millions of lines.
 */
export function normalName(text: string): string | undefined {
  let name = text.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  const n = name.length;
  if (n === 0 || n > 253) return undefined;
  let labelStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return undefined;
      if (name.charCodeAt(labelStart) === 0x2d || name.charCodeAt(i - 1) === 0x2d) return undefined;
      if (name.charCodeAt(labelStart) === 0x2a && (len !== 1 || labelStart !== 0)) return undefined;
      labelStart = i + 1;
      continue;
    }
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x5f ||
      c === 0x2d ||
      (c === 0x2a && i === labelStart);
    if (!ok) return undefined;
  }
  return name;
}
