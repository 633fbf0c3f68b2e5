/** Policy rules as the feed parsers produce them, whatever the feed's format. */

/** What a rule does to a matching query. `block` is a list rule: the group's action applies. */
export type RuleAction = 'block' | 'nxdomain' | 'nodata' | 'passthru' | 'drop' | 'local-data';

/**
 * Which names a rule matches: `exact` the name only (RPZ `name`, hosts entries); `subtree` the
 * name and every name under it (domain lists, adblock `||name^`); `wildcard` only names under it
 * (RPZ `*.name`).
 */
export type RuleScope = 'exact' | 'subtree' | 'wildcard';

export interface LocalRecord {
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  ttl: number;
  data: string;
}

export interface ParsedRule {
  /** Lower-case presentation name without the trailing dot. */
  name: string;
  scope: RuleScope;
  action: RuleAction;
  /** An adblock `@@` exception: it wins over every block in its feed. */
  exception?: boolean;
  line: number;
  records?: LocalRecord[];
}

export interface ParseResult {
  rules: ParsedRule[];
  /** Lines read but not used, by reason (unsupported syntax, triggers a forwarder cannot see, …). */
  skipped: Record<string, number>;
  /** Lines that are wrong (a bad name, a record that does not parse), with the first few examples. */
  errors: number;
  errorExamples: string[];
  /** Declared serial (RPZ SOA) when there is one. */
  serial?: number;
}

export class ParseCollector {
  readonly rules: ParsedRule[] = [];
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
    return { rules: this.rules, skipped: this.skipped, errors: this.errors, errorExamples: this.errorExamples, serial: this.serial };
  }
}

const LABEL = /^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;

/** A lower-cased name without its trailing dot when it is a valid host-style name; undefined otherwise. */
export function normalName(text: string): string | undefined {
  let name = text.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > 253) return undefined;
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) if (!LABEL.test(labels[i]) || (labels[i] === '*' && i > 0)) return undefined;
  return name;
}
