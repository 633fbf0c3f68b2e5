/**
 * Users & tokens (admins only): console users with their roles, API tokens; add a user, remove
 * one, make a token (its secret shown once), revoke one. Every change is audited by the server.
 */
import { api, ApiError } from './client.js';
import { clear, h, table, time, toast } from './dom.js';
import type { Me } from './types.js';

interface User {
  name: string;
  role: 'admin' | 'viewer';
  createdAt: number;
}

interface Token {
  id: string;
  name: string;
  role: 'admin' | 'viewer';
  createdAt: number;
  createdBy: string;
  lastUsed: number | null;
}

const roleSelect = (id: string) =>
  h(
    'select',
    { id, 'aria-label': 'role' },
    h('option', { value: 'viewer', selected: true }, 'viewer (reads)'),
    h('option', { value: 'admin' }, 'admin (acts, manages users)'),
  );

export async function usersPage(
  root: HTMLElement,
  me: Me,
  shownSecret: { name: string; token: string } | null = null,
): Promise<void> {
  if (me.role !== 'admin') {
    clear(
      root,
      h('h1', {}, 'Users & tokens'),
      h('p', { class: 'card empty', id: 'users-admin-only' }, 'Only admins manage users and tokens.'),
    );
    return;
  }
  const [{ users }, { tokens }, { minPasswordLength }] = await Promise.all([
    api<{ users: User[] }>('/api/users'),
    api<{ tokens: Token[] }>('/api/tokens'),
    api<{ minPasswordLength: number }>('/api/setup'),
  ]);
  const change = async (
    label: string,
    run: () => Promise<unknown>,
    secret: { name: string; token: string } | null = null,
  ) => {
    try {
      await run();
      toast(`${label}: done`);
      await usersPage(root, me, secret);
    } catch (err) {
      toast(`${label}: ${err instanceof ApiError ? err.message : String(err)}`, true);
    }
  };
  const userName = h('input', {
    id: 'user-name',
    'aria-label': 'user name',
    placeholder: 'user name',
    required: true,
    maxlength: '64',
    pattern: '[A-Za-z0-9._@\\-]{1,64}',
    autocomplete: 'off',
  });
  const userRole = roleSelect('user-role');
  const userPassword = h('input', {
    id: 'user-password',
    type: 'password',
    'aria-label': 'password',
    placeholder: `password (${minPasswordLength}+ characters)`,
    required: true,
    minlength: String(minPasswordLength),
    autocomplete: 'new-password',
  });
  const addUser = h(
    'form',
    {
      class: 'inline filters',
      id: 'user-add',
      'aria-label': 'Add a user',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const name = userName.value.trim();
        // POST /api/users also changes an existing user's password: this form only adds.
        if (users.some((u) => u.name === name)) return toast(`Add ${name}: that user exists already`, true);
        void change(`Add ${name}`, () =>
          api('/api/users', 'POST', { name, password: userPassword.value, role: userRole.value }),
        );
      },
    },
    userName,
    userRole,
    userPassword,
    h('button', { type: 'submit', class: 'primary', id: 'user-add-submit' }, 'Add user'),
  );
  const tokenName = h('input', {
    id: 'token-name',
    'aria-label': 'token name',
    placeholder: 'what it is for (e.g. siem-export)',
    required: true,
    maxlength: '64',
    autocomplete: 'off',
  });
  const tokenRole = roleSelect('token-role');
  const addToken = h(
    'form',
    {
      class: 'inline filters',
      id: 'token-add',
      'aria-label': 'Make an API token',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const name = tokenName.value.trim();
        void (async () => {
          try {
            const made = await api<{ token: string; id: string }>('/api/tokens', 'POST', {
              name,
              role: tokenRole.value,
            });
            toast(`Token ${name}: made`);
            await usersPage(root, me, { name, token: made.token });
          } catch (err) {
            toast(`Token ${name}: ${err instanceof ApiError ? err.message : String(err)}`, true);
          }
        })();
      },
    },
    tokenName,
    tokenRole,
    h('button', { type: 'submit', class: 'primary', id: 'token-add-submit' }, 'Make token'),
  );
  clear(
    root,
    h('h1', {}, 'Users & tokens'),
    h(
      'p',
      { class: 'muted' },
      'Console users log in with a password; API tokens are for automation (',
      h('code', {}, 'Authorization: Bearer …'),
      '). Admins act and manage users; viewers read. Every change is in the audit log. The CLI does the same: ',
      h('code', {}, 'dnsward user'),
      ', ',
      h('code', {}, 'dnsward token'),
      '.',
    ),
    h('h2', {}, 'Users'),
    h(
      'div',
      { id: 'users-list' },
      table(
        ['user', 'role', 'created', ''],
        users.map((u) => [
          h('span', { class: 'mono', 'data-user': u.name }, u.name),
          u.role,
          time(u.createdAt),
          u.name === me.user
            ? h('span', { class: 'muted' }, 'you')
            : h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  id: `user-remove-${u.name}`,
                  onclick: () => {
                    if (confirm(`Remove the user ${u.name}? Their sessions end at once.`))
                      void change(`Remove ${u.name}`, () => api(`/api/users/${encodeURIComponent(u.name)}`, 'DELETE'));
                  },
                },
                'Remove',
              ),
        ]),
        'No user.',
      ),
    ),
    addUser,
    h('h2', {}, 'API tokens'),
    shownSecret === null
      ? null
      : h(
          'div',
          { class: 'card', id: 'token-secret', role: 'status' },
          h('strong', {}, `The secret of ${shownSecret.name}, shown this once: `),
          h('code', { class: 'mono', id: 'token-secret-value' }, shownSecret.token),
        ),
    h(
      'div',
      { id: 'tokens-list' },
      table(
        ['name', 'role', 'created', 'by', 'last used', ''],
        tokens.map((t) => [
          h('span', { class: 'mono', 'data-token': t.id }, t.name),
          t.role,
          time(t.createdAt),
          t.createdBy,
          time(t.lastUsed),
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              id: `token-revoke-${t.id}`,
              'aria-label': `Revoke ${t.name}`,
              onclick: () => {
                if (confirm(`Revoke the token ${t.name}? Whatever uses it is refused at once.`))
                  void change(`Revoke ${t.name}`, () => api(`/api/tokens/${encodeURIComponent(t.id)}`, 'DELETE'));
              },
            },
            'Revoke',
          ),
        ]),
        h('span', { id: 'tokens-empty' }, 'No API token.'),
      ),
    ),
    addToken,
  );
}
