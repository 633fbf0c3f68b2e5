/** A configuration problem, worded for the operator: which file, which key, what was expected. */
export class ConfigError extends Error {
  readonly code = 'DNSWARD_ERR_CONFIG';
  constructor(readonly source: string, readonly problems: string[]) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
