/**
 * dnsward(1), written from the commands' own help texts, so the manual says what `--help` says.
 * `npm run man` writes docs/dnsward.1; a test checks the file is current.
 */
import { commands } from './command-list.js';
import { LOCATION_HELP } from './server-location.js';

/** Text as roff: a leading dot or quote would be a request, a backslash an escape. */
function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

export function manPage(version: string): string {
  const out = [
    `.TH DNSWARD 1 "" "dnsward ${version}" "User Commands"`,
    '.SH NAME',
    'dnsward \\- a secure DNS service: forwarding and caching, DNS tunnel detection, response policy, SIEM events',
    '.SH SYNOPSIS',
    '.B dnsward',
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    'dnsward sits between clients and their resolvers. It answers from its cache and local zones, forwards the rest',
    "over UDP, TCP, DoT or DoH, blocks names of the operator's response-policy feeds per client group, cuts DNS tunnels",
    '(Tunnel Guard), defends itself against floods, and reports every decision with its stage trace.',
    '.SH COMMANDS',
  ];
  for (const c of commands) {
    out.push(`.SS ${c.name}`, roff(c.summary), '.PP', '.nf', roff(c.help), '.fi');
  }
  out.push(
    '.SH FINDING THE SERVER',
    'The operator commands marked as such in their help find the running server this way:',
    '.PP',
    '.nf',
    roff(LOCATION_HELP),
    '.fi',
    '.SH ENVIRONMENT',
    '.TP',
    '.B DNSWARD_CONFIG',
    'the configuration file, when no --config is given.',
    '.TP',
    '.B DNSWARD_DATA_DIR',
    'the data directory, when no --data-dir is given.',
    '.TP',
    '.B DNSWARD_PASSWORD',
    'the password for user add.',
    '.TP',
    '.B DNSWARD_ADMIN_PASSWORD',
    'creates console user "admin" at start when no admin exists.',
    '.SH FILES',
    '.TP',
    '.I /etc/dnsward/dnsward.yaml',
    'the configuration, when it exists and nothing else is named.',
    '.TP',
    '.I /var/lib/dnsward',
    'the data directory with that configuration: dnsward.db (learned state, audit, users), querylog.db, dnsward.sock, dnsward.pid.',
    '.SH SIGNALS',
    'SIGHUP reloads the configuration; SIGTERM and SIGINT drain queries in flight and exit; SIGUSR1 logs a counters snapshot.',
    '.SH SEE ALSO',
    'README.md and docs/ in the package: CONFIGURATION.md (every key), POLICY.md, DETECTION.md, EVENTS.md, SCALE-OUT.md.',
    '',
  );
  return out.join('\n');
}
