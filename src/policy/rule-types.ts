/** The vocabulary of a policy rule, shared by the parsers, the tables and the engine. */
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
