/**
 * `dnsward user` and `dnsward token`: console users and API tokens, written straight into
 * `<dataDir>/dnsward.db` (a running dnsward sees them at the next login or request).
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ROLES, type Role, UserError, UserStore } from '../../console/auth/user-store.js';
import { ensurePrivateDir } from '../../util/private-files.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';
import { type LocationFlags, LOCATION_OPTIONS, locateDataDir, locationGiven } from '../server-location.js';
import { readSecretLine } from '../hidden-input.js';
/**
 * The server's user database. Without --config, --data-dir or the environment naming a server,
 * a ./var that does not exist is refused rather than made: a database the server never reads
 * would hold users who can never log in.
 */
function openUsers(flags: LocationFlags): UserStore {
  const dataDir = locateDataDir(flags);
  if (!existsSync(dataDir) && !locationGiven(flags))
    throw new UsageError(
      `no dnsward data directory here (${dataDir} does not exist): give the server's --config FILE or --data-dir DIR, or set DNSWARD_CONFIG`,
    );
  ensurePrivateDir(dataDir);
  return new UserStore(join(dataDir, 'dnsward.db'));
}

function role(text: string | undefined, fallback: Role | undefined): Role {
  if (text === undefined && fallback === undefined)
    throw new UsageError(`--role is needed: one of ${ROLES.join(', ')} (an admin can act, a viewer can only look)`);
  if (text === undefined) return fallback!;
  if (!(ROLES as readonly string[]).includes(text))
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}, not "${text}"`);
  return text as Role;
}

/** The password from DNSWARD_PASSWORD, or standard input: typed at a terminal (twice, not echoed), else its first line. */
async function readPassword(): Promise<string> {
  const fromEnv = process.env.DNSWARD_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const first = await readSecretLine('Password: ');
  if (first === undefined) throw new UsageError('no password: set DNSWARD_PASSWORD or give it on standard input');
  if (process.stdin.isTTY && (await readSecretLine('Again: ')) !== first)
    throw new UsageError('the two passwords differ');
  return first;
}

export const userCommand: Command = {
  name: 'user',
  locates: true,
  summary: 'manage console users (add, remove, list)',
  help: `Usage: dnsward user add NAME [--role admin|viewer] [-c FILE] [--data-dir DIR]
       dnsward user remove NAME [-c FILE] [--data-dir DIR]
       dnsward user list [-c FILE] [--data-dir DIR]

Console users: admins can act (allow, unblock, quarantine, monitor-only, users,
tokens); viewers can only look. "add" sets the password of an existing user too.
--role is required for add. The password comes from DNSWARD_PASSWORD, else it is
typed twice at the terminal (not echoed), else it is the first line of standard
input (--password-stdin style: echo "$PW" | dnsward user add ...); it must have
at least 10 characters and is stored as an scrypt hash. There is no
default user.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { role: { type: 'string' }, ...LOCATION_OPTIONS }, true);
    const [action, name] = positionals;
    const users = openUsers(values);
    try {
      switch (action) {
        case 'add': {
          if (name === undefined) throw new UsageError('user add needs a NAME');
          const r = role(values.role as string | undefined, undefined);
          await users.set(name, await readPassword(), r);
          console.log(`user ${name} (${r}) saved`);
          return 0;
        }
        case 'remove':
          if (name === undefined) throw new UsageError('user remove needs a NAME');
          if (!users.remove(name)) {
            console.error(`dnsward user: no user ${name}`);
            return 1;
          }
          console.log(`user ${name} removed`);
          return 0;
        case 'list':
          for (const u of users.list()) console.log(`${u.name}\t${u.role}\t${new Date(u.createdAt).toISOString()}`);
          return 0;
        default:
          throw new UsageError('user takes add, remove or list');
      }
    } catch (err) {
      if (err instanceof UserError) {
        console.error(`dnsward user: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      users.close();
    }
  },
};

export const tokenCommand: Command = {
  name: 'token',
  locates: true,
  summary: 'manage API tokens for the console API (create, list, revoke)',
  help: `Usage: dnsward token create NAME [--role viewer|admin] [-c FILE] [--data-dir DIR]
       dnsward token list [-c FILE] [--data-dir DIR]
       dnsward token revoke ID [-c FILE] [--data-dir DIR]

A token is sent as "Authorization: Bearer <token>" to the console's API. "create"
prints it once; only its SHA-256 is kept.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { role: { type: 'string' }, ...LOCATION_OPTIONS }, true);
    const [action, arg] = positionals;
    const users = openUsers(values);
    try {
      switch (action) {
        case 'create': {
          if (arg === undefined) throw new UsageError('token create needs a NAME');
          const made = users.createToken(
            arg,
            role(values.role as string | undefined, 'viewer'),
            `${process.env.USER ?? 'uid'} (cli)`,
          );
          console.log(made.token);
          console.error(`token ${arg} (${made.id}) created: it is shown once`);
          return 0;
        }
        case 'list':
          for (const t of users.tokens())
            console.log(
              `${t.id}\t${t.name}\t${t.role}\tcreated ${new Date(t.createdAt).toISOString()} by ${t.createdBy}\tlast used ${t.lastUsed ? new Date(t.lastUsed).toISOString() : 'never'}`,
            );
          return 0;
        case 'revoke':
          if (arg === undefined) throw new UsageError('token revoke needs an ID');
          if (!users.revokeToken(arg)) {
            console.error(`dnsward token: no token ${arg}`);
            return 1;
          }
          console.log(`token ${arg} revoked`);
          return 0;
        default:
          throw new UsageError('token takes create, list or revoke');
      }
    } finally {
      users.close();
    }
  },
};
