/**
 * Settings that are valid but almost certainly not what the operator meant: said at start,
 * at reload and by check-config, so that a feed blocking nobody is never silent.
 */
import type { Config } from './schema.js';

export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const { feeds, groups } = config.policy;
  const used = new Set<string>();
  for (const g of groups) {
    for (const f of g.feeds) used.add(f);
    for (const f of feeds) if (g.categories.includes(f.category)) used.add(f.name);
  }
  for (const f of feeds) {
    if (!used.has(f.name))
      warnings.push(
        `policy.feeds: feed "${f.name}" is in no group of policy.groups (by name or category): it blocks nothing`,
      );
  }
  return warnings;
}
