/**
 * `dnsward user` and `dnsward token`: console users and API tokens, written straight into
 * `<dataDir>/dnsward.db` (a running dnsward sees them at the next login or request).
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROLES, type Role, UserError, UserStore } from '../../console/auth/user-store.js';
import { ensurePrivateDir } from '../../util/private-files.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';

const DEFAULT_DATA_DIR = './var';

function openUsers(dataDir: string): UserStore {
  ensurePrivateDir(dataDir);
  return new UserStore(join(dataDir, 'dnsward.db'));
}

function role(text: string | undefined, fallback: Role): Role {
  if (text === undefined) return fallback;
  if (!(ROLES as readonly string[]).includes(text)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, not "${text}"`);
  return text as Role;
}

/** The password from DNSWARD_PASSWORD, or the first line of standard input (not echoed when it is a terminal). */
async function readPassword(): Promise<string> {
  const fromEnv = process.env.DNSWARD_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    if (process.stdin.isTTY) process.stderr.write('\n');
    return line;
  }
  throw new UsageError('no password: set DNSWARD_PASSWORD or give it on standard input');
}

export const userCommand: Command = {
  name: 'user',
  summary: 'manage console users (add, remove, list)',
  help: `Usage: dnsward user add NAME [--role admin|viewer] [--data-dir DIR]
       dnsward user remove NAME [--data-dir DIR]
       dnsward user list [--data-dir DIR]

Console users: admins can act (allow, unblock, quarantine, monitor-only, users,
tokens); viewers can only look. "add" sets the password of an existing user too.
The password comes from DNSWARD_PASSWORD or the first line of standard input; it
must have at least 10 characters and is stored as an scrypt hash. There is no
default user.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { role: { type: 'string' }, 'data-dir': { type: 'string' } }, true);
    const [action, name] = positionals;
    const users = openUsers(values['data-dir'] ?? DEFAULT_DATA_DIR);
    try {
      switch (action) {
        case 'add': {
          if (name === undefined) throw new UsageError('user add needs a NAME');
          const r = role(values.role, 'admin');
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
  summary: 'manage API tokens for the console API (create, list, revoke)',
  help: `Usage: dnsward token create NAME [--role viewer|admin] [--data-dir DIR]
       dnsward token list [--data-dir DIR]
       dnsward token revoke ID [--data-dir DIR]

A token is sent as "Authorization: Bearer <token>" to the console's API. "create"
prints it once; only its SHA-256 is kept.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { role: { type: 'string' }, 'data-dir': { type: 'string' } }, true);
    const [action, arg] = positionals;
    const users = openUsers(values['data-dir'] ?? DEFAULT_DATA_DIR);
    try {
      switch (action) {
        case 'create': {
          if (arg === undefined) throw new UsageError('token create needs a NAME');
          const made = users.createToken(arg, role(values.role, 'viewer'), `${process.env.USER ?? 'uid'} (cli)`);
          console.log(made.token);
          console.error(`token ${arg} (${made.id}) created: it is shown once`);
          return 0;
        }
        case 'list':
          for (const t of users.tokens()) console.log(`${t.id}\t${t.name}\t${t.role}\tcreated ${new Date(t.createdAt).toISOString()} by ${t.createdBy}\tlast used ${t.lastUsed ? new Date(t.lastUsed).toISOString() : 'never'}`);
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
