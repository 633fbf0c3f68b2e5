#!/usr/bin/env node
/** The `dnsward` executable: dispatches to one command per file in ./commands. */
import { packageVersion } from '../util/package-version.js';
import { ConfigError } from '../config/config-error.js';
import { ListenError } from '../util/listen.js';
import { UsageError } from './args.js';
import { DataDirError } from './pid-file.js';
import { LOCATION_HELP } from './server-location.js';
import { commands } from './command-list.js';

const version = packageVersion;

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `dnsward ${version()}: a secure DNS forwarding service

Usage: dnsward <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'dnsward <command> --help' for a command's options.
Documentation: README.md and docs/ in the package.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(version());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`dnsward: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.locates === true ? `${command.help}\n\nFinding the server:\n${LOCATION_HELP}` : command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`dnsward ${name}: ${err.message}`);
      return 1;
    }
    if (err instanceof ListenError || err instanceof DataDirError) {
      console.error(`dnsward ${name}: ${err.message}`);
      return 1;
    }
    if (err instanceof UsageError) {
      console.error(`dnsward ${name}: ${err.message}\n\n${command.help}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
