/** Statistics: the last 24 hours or 7 days from the hourly counts (every query, logged as a row or not). */
import { api } from './client.js';
import { lineChart } from './charts.js';
import { clear, h, num, table } from './dom.js';
import type { QueryStats } from './api-types.js';

const pct = (part: number, whole: number) => (whole === 0 ? '–' : `${num((part / whole) * 100, 1)} %`);

export async function statsPage(root: HTMLElement, range: string): Promise<void> {
  const r = range === '7d' ? '7d' : '24h';
  const d = await api<QueryStats>(`/api/stats?range=${r}`);
  const toggle = (value: '24h' | '7d', label: string) =>
    h(
      'a',
      {
        href: `#/stats?range=${value}`,
        class: 'button',
        id: `range-${value}`,
        'aria-pressed': String(value === r),
        role: 'button',
      },
      label,
    );
  const stat = (label: string, value: string, id: string) =>
    h('div', { class: 'card stat', id }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
  const toQueries = (params: Record<string, string>) => `#/queries?${new URLSearchParams({ from: r, ...params })}`;
  const domainRows = (rows: QueryStats['topDomains'], action?: string) =>
    rows.map((x) => [
      h('a', { href: toQueries({ domain: x.domain, ...(action ? { action } : {}) }), class: 'mono' }, x.domain),
      h('span', { class: 'count' }, num(x.n)),
      pct(x.n, d.total),
    ]);
  clear(
    root,
    h('h1', {}, 'Statistics'),
    h(
      'div',
      { class: 'actions', role: 'group', 'aria-label': 'time range' },
      toggle('24h', 'Last 24 hours'),
      toggle('7d', 'Last 7 days'),
    ),
    h(
      'div',
      { class: 'grid' },
      stat('Queries', num(d.total), 'stats-total'),
      stat('Blocked', `${num(d.blocked)} (${pct(d.blocked, d.total)})`, 'stats-blocked'),
      stat('Clients', num(d.topClients.length) + (d.topClients.length >= 10 ? '+' : ''), 'stats-clients'),
      stat('Cached', pct((d.byAction.cached ?? 0) + (d.byAction.stale ?? 0), d.total), 'stats-cached'),
    ),
    h(
      'div',
      { class: 'grid wide' },
      lineChart(
        `Queries per hour (${r === '7d' ? 'last 7 days' : 'last 24 hours'})`,
        [
          { name: 'queries', color: 'var(--accent)', points: d.hours.map((x) => [x.t, x.total]) },
          { name: 'blocked', color: 'var(--danger)', points: d.hours.map((x) => [x.t, x.blocked]) },
        ],
        (v) => num(v),
      ),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, 'By action'),
        table(
          ['action', 'queries', 'share'],
          Object.entries(d.byAction)
            .sort((a, b) => b[1] - a[1])
            .map(([a, n]) => [h('a', { href: toQueries({ action: a }) }, a), num(n), pct(n, d.total)]),
          'No queries in this range.',
        ),
      ),
    ),
    h(
      'div',
      { class: 'grid wide' },
      h(
        'div',
        { class: 'card', id: 'top-domains' },
        h('h2', {}, 'Top domains'),
        table(['domain', 'queries', 'share'], domainRows(d.topDomains), 'No queries in this range.'),
      ),
      h(
        'div',
        { class: 'card', id: 'top-blocked' },
        h('h2', {}, 'Top blocked domains'),
        table(['domain', 'blocked', 'share'], domainRows(d.topBlocked, 'blocked'), 'Nothing blocked in this range.'),
      ),
      h(
        'div',
        { class: 'card', id: 'top-clients' },
        h('h2', {}, 'Top clients'),
        table(
          ['client', 'queries', 'blocked'],
          d.topClients.map((c) => [
            h('a', { href: `#/client/${encodeURIComponent(c.client)}`, class: 'mono' }, c.client),
            h('span', { class: 'count' }, num(c.n)),
            num(c.blocked),
          ]),
          'No queries in this range.',
        ),
      ),
    ),
    d.queryLogMode === 'off'
      ? h('p', { class: 'muted' }, 'queryLog.mode is off: no query is counted.')
      : h(
          'p',
          { class: 'muted' },
          `Counted from hourly totals; every query is counted, also those the query log does not keep as rows (queryLog.mode: ${d.queryLogMode}).`,
        ),
  );
}
