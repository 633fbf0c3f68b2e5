/** Small helpers shared by the commands: argument parsing with clear errors, and help text. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  readonly code = 'DNSWARD_ERR_USAGE';
}

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  /** Whether it finds a running server (--config, --data-dir): its help then says how. */
  locates?: boolean;
  run(argv: string[]): Promise<number>;
}
