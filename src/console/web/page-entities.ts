/** Domains and clients: search, history, and what learning thinks is normal for them; learning status. */
import { api, ApiError } from './client.js';
import { ago, bytes, clear, h, num, table, time, toast } from './dom.js';
import type { ClientStats } from './api-types.js';
import type { LearnedDomain, Me, QueryRow, SecurityEvent } from './types.js';

const queryRows = (rows: QueryRow[]) =>
  rows.map((q) => [
    time(q.t),
    h('a', { href: `#/client/${encodeURIComponent(q.client)}`, class: 'mono' }, q.client),
    h('span', { class: 'mono' }, q.qname),
    q.type,
    q.reason,
  ]);
const eventRows = (rows: SecurityEvent[]) =>
  rows.map((e) => [
    time(Date.parse(e.time)),
    e.type,
    e.incident ? h('a', { href: `#/threat/${encodeURIComponent(e.incident)}` }, e.incident) : '–',
    e.reasons[0] ?? '',
  ]);

export async function domainsPage(root: HTMLElement, q: string): Promise<void> {
  const input = h('input', {
    type: 'search',
    id: 'domain-search',
    value: q,
    placeholder: 'domain or client IP',
    'aria-label': 'search domains, or a client IP',
    autofocus: true,
  });
  const form = h(
    'form',
    {
      class: 'inline',
      role: 'search',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const v = input.value.trim();
        location.hash =
          /^[0-9a-f:.]+$/i.test(v) && /[:.]\d|:/.test(v) && !/[g-z]/i.test(v)
            ? `#/client/${encodeURIComponent(v)}`
            : `#/domains?q=${encodeURIComponent(v)}`;
      },
    },
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  const { domains } = await api<{
    domains: Array<{
      domain: string;
      queries: number;
      clients: number;
      lastSeen: number;
      leakedBytes: number;
      blocked: boolean;
    }>;
  }>(`/api/domains?limit=100&q=${encodeURIComponent(q)}`);
  clear(
    root,
    h('h1', {}, 'Domains & clients'),
    form,
    h('h2', {}, q ? `Domains matching “${q}”` : 'Busiest domains'),
    table(
      ['domain', 'queries', 'clients', 'last seen', 'payload estimate', 'state'],
      domains.map((d) => [
        h('a', { href: `#/domain/${encodeURIComponent(d.domain)}`, class: 'mono' }, d.domain),
        num(d.queries),
        num(d.clients),
        ago(d.lastSeen * 1000),
        bytes(d.leakedBytes),
        d.blocked ? h('span', { class: 'chip block' }, 'blocked') : '',
      ]),
      h('div', {}, h('strong', {}, 'No domain seen yet.'), 'Domains appear once clients query them through dnsward.'),
    ),
  );
}

export async function domainPage(root: HTMLElement, name: string): Promise<void> {
  const d = await api<{
    domain: string;
    learned: LearnedDomain | null;
    events: SecurityEvent[];
    queries: QueryRow[];
    queryLogMode: string;
  }>(`/api/domains/${encodeURIComponent(name)}`);
  const l = d.learned;
  const budgets = l
    ? l.budgetBytes.map((b, i) => `${['minute', 'hour', 'day'][i]}: ${b === null ? 'no limit' : bytes(b)}`).join(' · ')
    : '';
  clear(
    root,
    h('p', {}, h('a', { href: '#/domains' }, '← Domains & clients')),
    h('h1', { class: 'mono' }, d.domain),
    l === null
      ? h('div', { class: 'card empty' }, 'Tunnel Guard has not seen this domain.')
      : h(
          'div',
          { class: 'grid' },
          h(
            'div',
            { class: 'card' },
            h('h2', {}, 'What is normal for it'),
            h(
              'p',
              {},
              l.recognisedEncoder
                ? h(
                    'span',
                    { class: 'chip ok' },
                    `recognised legitimate encoder${l.knownEncoder ? ` (${l.knownEncoder})` : ''}`,
                  )
                : h('span', { class: 'chip' }, 'ordinary domain'),
            ),
            h('p', {}, `Encoded-information budget per client: ${budgets}`),
            h(
              'p',
              { class: 'muted' },
              `encoder multiplier ×${l.encoderMultiplier}; ${l.established ? 'established (a day old, active 6+ hours)' : 'not yet established'}; template stability ${l.templateStability}`,
            ),
          ),
          h(
            'div',
            { class: 'card' },
            h('h2', {}, 'What it has seen'),
            h(
              'p',
              {},
              `${num(l.queries)} queries, ${num(l.uniqueNames)} unique names, ${num(l.clients)} clients, active ${l.activeHours} of the last 32 hours`,
            ),
            h(
              'p',
              {},
              `first seen ${time(l.firstSeen * 1000)}, last ${ago(l.lastSeen * 1000)}; NXDOMAIN ${Math.round(l.nxdomainRatio * 100)} %; payload estimate ${bytes(l.leakedBytes)}`,
            ),
            l.block
              ? h(
                  'p',
                  {},
                  h('span', { class: 'chip block' }, `blocked until ${time(l.block.until * 1000)}`),
                  ' ',
                  h('a', { href: `#/threat/${encodeURIComponent(l.block.incident)}` }, l.block.incident),
                )
              : null,
          ),
        ),
    h('h2', {}, 'Events'),
    table(['time', 'type', 'incident', 'why'], eventRows(d.events)),
    h('h2', {}, 'Logged queries'),
    d.queryLogMode === 'all'
      ? null
      : h('p', { class: 'muted' }, `The query log keeps ${d.queryLogMode} queries (queryLog.mode).`),
    table(['time', 'client', 'name', 'what', 'reason'], queryRows(d.queries)),
  );
}

export async function clientPage(root: HTMLElement, client: string, me: Me): Promise<void> {
  const d = await api<{
    client: string;
    learned: {
      firstSeen: number | null;
      domains: number;
      leakedBytes: number;
      encodedBytes: { minute: number; hour: number; day: number } | null;
      quarantine: { until: number; by: string } | null;
    } | null;
    stats: ClientStats;
    events: SecurityEvent[];
    queries: QueryRow[];
    queryLogMode: string;
  }>(`/api/clients/${encodeURIComponent(client)}`);
  const l = d.learned;
  const admin = me.role === 'admin';
  const run = (label: string, path: string, body: object) => async () => {
    try {
      await api(path, 'POST', body);
      toast(`${label}: done`);
      await clientPage(root, client, me);
    } catch (err) {
      toast(`${label}: ${err instanceof ApiError ? err.message : String(err)}`, true);
    }
  };
  clear(
    root,
    h('p', {}, h('a', { href: '#/domains' }, '← Domains & clients')),
    h('h1', { class: 'mono' }, client),
    h(
      'div',
      { class: 'card', id: 'client-stats' },
      h('h2', {}, 'Last 24 hours'),
      d.stats.total === 0
        ? h('p', { class: 'muted' }, 'No query from this client in the last 24 hours.')
        : h(
            'p',
            {},
            `${num(d.stats.total)} queries, ${num(d.stats.blocked)} blocked; `,
            Object.entries(d.stats.byAction)
              .sort((a, b) => b[1] - a[1])
              .map(([a, n]) => `${a} ${num(n)}`)
              .join(' · '),
            ' ',
            h('a', { href: `#/queries?client=${encodeURIComponent(client)}&from=24h` }, 'its queries →'),
          ),
    ),
    // Tunnel Guard's state of a client ages out (and is none when the guard is off), while the
    // counts above say whether it sent traffic: a busy client must not read as unknown.
    l === null
      ? h(
          'p',
          { class: 'muted', id: 'client-guard' },
          d.stats.total === 0
            ? 'Tunnel Guard has not seen this client.'
            : 'Tunnel Guard: nothing learned about this client at the moment (its state ages out, and is not kept with Tunnel Guard off).',
        )
      : h(
          'div',
          { class: 'card' },
          h(
            'p',
            {},
            `first seen ${l.firstSeen ? time(l.firstSeen * 1000) : '–'}; ${num(l.domains)} domains; payload estimate ${bytes(l.leakedBytes)}`,
          ),
          l.encodedBytes
            ? h(
                'p',
                {},
                `encoded information sent: last minute ${bytes(l.encodedBytes.minute)}, hour ${bytes(l.encodedBytes.hour)}, day ${bytes(l.encodedBytes.day)}`,
              )
            : null,
          l.quarantine
            ? h(
                'p',
                {},
                h(
                  'span',
                  { class: 'chip block' },
                  `quarantined until ${time(l.quarantine.until * 1000)} by ${l.quarantine.by}`,
                ),
              )
            : null,
        ),
    h(
      'div',
      { class: 'actions' },
      l?.quarantine
        ? h(
            'button',
            { type: 'button', disabled: !admin, onclick: run('Release', '/api/actions/release', { client }) },
            'Release',
          )
        : h(
            'button',
            {
              type: 'button',
              class: 'danger',
              disabled: !admin,
              onclick: run('Quarantine', '/api/actions/quarantine', { client, for: '1d' }),
            },
            'Quarantine for 1 day',
          ),
      h(
        'button',
        { type: 'button', disabled: !admin, onclick: run('Allow client', '/api/actions/allow', { client, for: '1d' }) },
        'Allow this client for 1 day',
      ),
    ),
    h('h2', {}, 'Events'),
    table(['time', 'type', 'incident', 'why'], eventRows(d.events)),
    h('h2', {}, 'Logged queries'),
    table(['time', 'client', 'name', 'what', 'reason'], queryRows(d.queries)),
  );
}

export async function learningPage(root: HTMLElement, me: Me): Promise<void> {
  const d = await api<{
    learningSince: number | null;
    queriesSeen: number;
    newNames: number;
    namesLearned: number;
    learned: { budgetBytes: number; queryBudgetBytes: number };
    state: { domains: number; clients: number; pairs: number };
    recognisedEncoders: Array<{
      domain: string;
      clients: number;
      uniqueNames: number;
      known: string | null;
      multiplier: number;
    }>;
    mode: string;
    monitorUntil: number | null;
  }>('/api/learning');
  const admin = me.role === 'admin';
  const period = h(
    'select',
    { 'aria-label': 'monitor-only for how long' },
    ['15m', '1h', '12h', '1d'].map((v) => h('option', { value: v }, v)),
  );
  const monitor = async (value: string) => {
    try {
      await api('/api/actions/monitor', 'POST', { for: value });
      toast(value === '0s' ? 'blocking again' : `monitor-only for ${value}`);
      await learningPage(root, me);
    } catch (err) {
      toast((err as Error).message, true);
    }
  };
  clear(
    root,
    h('h1', {}, 'Learning'),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'card stat' },
        h('div', { class: 'label' }, 'Learning since'),
        h(
          'div',
          { class: 'value', style: 'font-size:16px' },
          d.learningSince ? `${time(d.learningSince * 1000)} (${ago(d.learningSince * 1000)})` : 'no query yet',
        ),
      ),
      h(
        'div',
        { class: 'card stat' },
        h('div', { class: 'label' }, 'Queries seen'),
        h('div', { class: 'value' }, num(d.queriesSeen)),
      ),
      h(
        'div',
        { class: 'card stat' },
        h('div', { class: 'label' }, 'Names learned'),
        h('div', { class: 'value' }, num(d.namesLearned)),
      ),
      h(
        'div',
        { class: 'card stat' },
        h('div', { class: 'label' }, 'Domains / clients known'),
        h('div', { class: 'value' }, `${num(d.state.domains)} / ${num(d.state.clients)}`),
      ),
    ),
    h(
      'p',
      {},
      `Learned budgets: ${bytes(d.learned.budgetBytes)} of encoded information per client and domain (scaled per domain), ${bytes(d.learned.queryBudgetBytes)} in one query. Nothing to tune: these come from this network's own traffic.`,
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'Mode'),
      h(
        'p',
        {},
        d.monitorUntil
          ? `Monitor-only until ${time(d.monitorUntil * 1000)}: detections are reported, not blocked.`
          : `Tunnel Guard is in ${d.mode} mode.`,
      ),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', id: 'monitor-only', disabled: !admin, onclick: () => monitor(period.value) },
          'Monitor only for',
        ),
        period,
        d.monitorUntil
          ? h('button', { type: 'button', disabled: !admin, onclick: () => monitor('0s') }, 'Block again now')
          : null,
      ),
    ),
    h('h2', {}, 'Legitimate encoders recognised'),
    h(
      'p',
      { class: 'muted' },
      'Services that encode data in names (antivirus lookups, DNSBLs, …), recognised from many clients filling one stable template, or from the documented list.',
    ),
    table(
      ['domain', 'clients', 'unique names', 'why'],
      d.recognisedEncoders.map((r) => [
        h('a', { href: `#/domain/${encodeURIComponent(r.domain)}`, class: 'mono' }, r.domain),
        num(r.clients),
        num(r.uniqueNames),
        r.known ?? 'learned from traffic',
      ]),
      'None recognised yet.',
    ),
  );
}
