/** A configuration problem, worded for the operator: which file, which key, what was expected. */
export class ConfigError extends Error {
  readonly code = 'DNSWARD_ERR_CONFIG';
  constructor(
    readonly source: string,
    readonly problems: string[],
    /** Zones (by name) whose entry or file was refused: a reload counts them per zone. */
    readonly refusedZones: string[] = [],
  ) {
    // One problem reads as one line; several as a list, one key per line.
    super(
      problems.length === 1
        ? `invalid configuration in ${source}: ${problems[0]}`
        : `invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}
