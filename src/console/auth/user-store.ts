/**
 * Console users and API tokens, in the embedded store (`<dataDir>/dnsward.db`). Passwords are
 * scrypt hashes; API tokens are random 32-byte secrets of which only a SHA-256 is kept (shown
 * once, when made). There is no default user: the first admin comes from `dnsward user add` or
 * from DNSWARD_ADMIN_PASSWORD when no user exists yet.
 */
import Database from 'better-sqlite3';
import { openDatabase } from '../../store/sqlite-database.js';
import { STATE_SCHEMA } from '../../store/state-schema.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './password.js';

export type Role = 'admin' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'viewer'];

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  createdBy: string;
  lastUsed: number | null;
}

const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

export class UserError extends Error {}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class UserStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openDatabase(path, STATE_SCHEMA);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM console_user').get() as { n: number }).n;
  }

  hasAdmin(): boolean {
    return this.db.prepare("SELECT 1 FROM console_user WHERE role = 'admin' LIMIT 1").get() !== undefined;
  }

  list(): Array<{ name: string; role: Role; createdAt: number }> {
    return this.db
      .prepare('SELECT name, role, created_at AS createdAt FROM console_user ORDER BY name')
      .all() as Array<{ name: string; role: Role; createdAt: number }>;
  }

  /** Adds a user or sets a new password and role for an existing one. */
  async set(name: string, password: string, role: Role): Promise<void> {
    if (!USER_NAME.test(name)) throw new UserError(`user name "${name}" must be 1–64 letters, digits or . _ @ -`);
    if (!ROLES.includes(role)) throw new UserError(`role must be one of ${ROLES.join(', ')}, not "${role}"`);
    if (password.length < MIN_PASSWORD_LENGTH)
      throw new UserError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    const hash = await hashPassword(password);
    this.db
      .prepare(
        'INSERT INTO console_user (name, role, hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET role = excluded.role, hash = excluded.hash',
      )
      .run(name, role, hash, Date.now());
  }

  /**
   * What a session was opened against: the user's role and password hash, summed up. A session
   * whose stamp no longer matches (the password or role changed, even from another process with
   * `dnsward user`) is over.
   */
  stampOf(name: string): string | undefined {
    const row = this.db.prepare('SELECT role, hash FROM console_user WHERE name = ?').get(name) as
      { role: Role; hash: string } | undefined;
    return row === undefined ? undefined : `${row.role} ${sha256(row.hash).slice(0, 16)}`;
  }

  /** The user's role, or undefined when there is no such user. */
  roleOf(name: string): Role | undefined {
    return (this.db.prepare('SELECT role FROM console_user WHERE name = ?').get(name) as { role: Role } | undefined)
      ?.role;
  }

  remove(name: string): boolean {
    return this.db.prepare('DELETE FROM console_user WHERE name = ?').run(name).changes > 0;
  }

  /** The user's role when the password is right; undefined otherwise (same work either way). */
  async verify(name: string, password: string): Promise<Role | undefined> {
    const row = this.db.prepare('SELECT role, hash FROM console_user WHERE name = ?').get(name) as
      { role: Role; hash: string } | undefined;
    // An unknown user still costs one scrypt, so timing does not tell which names exist.
    const ok = await verifyPassword(password, row?.hash ?? DUMMY_HASH);
    return ok && row !== undefined ? row.role : undefined;
  }

  /** Makes an API token; the secret is returned once and never stored. */
  createToken(name: string, role: Role, createdBy: string): { token: string; id: string } {
    if (!ROLES.includes(role)) throw new UserError(`role must be one of ${ROLES.join(', ')}, not "${role}"`);
    const id = randomUUID();
    const token = `dw_${randomBytes(32).toString('base64url')}`;
    this.db
      .prepare('INSERT INTO console_token (id, name, role, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, name, role, sha256(token), Date.now(), createdBy);
    return { token, id };
  }

  tokens(): ApiToken[] {
    return this.db
      .prepare(
        'SELECT id, name, role, created_at AS createdAt, created_by AS createdBy, last_used AS lastUsed FROM console_token ORDER BY created_at',
      )
      .all() as ApiToken[];
  }

  revokeToken(id: string): boolean {
    return this.db.prepare('DELETE FROM console_token WHERE id = ?').run(id).changes > 0;
  }

  /** The token's name and role when it is valid; `touch` records the use. */
  checkToken(token: string, touch = true): { name: string; role: Role } | undefined {
    const hash = sha256(token);
    const row = this.db.prepare('SELECT id, name, role FROM console_token WHERE hash = ?').get(hash) as
      { id: string; name: string; role: Role } | undefined;
    if (row === undefined) return undefined;
    if (touch) this.db.prepare('UPDATE console_token SET last_used = ? WHERE id = ?').run(Date.now(), row.id);
    return { name: `token:${row.name}`, role: row.role };
  }

  close(): void {
    this.db.close();
  }
}

// A fixed hash of a random password nobody knows, for unknown users.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
