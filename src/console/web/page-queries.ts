/** The query log: search the logged queries by name, client, action, type and time, a page at a time. */
import { api } from './client.js';
import { clear, h, num, table, time } from './dom.js';
import type { QueryPage } from './api-types.js';
import { addToList } from './local-lists.js';
import type { Me } from './types.js';

const ACTIONS = [
  'answered',
  'cached',
  'stale',
  'blocked',
  'quarantined',
  'error',
  'local-zone',
  'rate-limited',
  'dynamic-blocked',
  'flood-limited',
  'formerr',
  'dropped',
];
const SINCE: Array<[string, string]> = [
  ['', 'any time'],
  ['15m', 'last 15 minutes'],
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
];
const PAGE = 50;
/** The filters the page keeps in its address (#/queries?…), so a search can be bookmarked and shared. */
const FILTERS = ['q', 'match', 'domain', 'client', 'action', 'type', 'from'] as const;

export class QueriesPage {
  /** Cursors of the pages before this one (for "Newer"); the current page's own cursor last. */
  private cursors: Array<string | undefined> = [undefined];
  private readonly results = h('div', { id: 'queries-results' });
  private readonly loading = h(
    'p',
    { id: 'queries-loading', class: 'loading', role: 'status', hidden: true },
    'Searching…',
  );

  constructor(
    private readonly root: HTMLElement,
    private readonly params: URLSearchParams,
    private readonly me: Me | null = null,
  ) {}

  async load(): Promise<void> {
    const p = this.params;
    const field = (name: string, label: string, placeholder: string, attrs: Record<string, string | boolean> = {}) =>
      h('input', {
        type: 'search',
        id: `queries-${name}`,
        name,
        value: p.get(name) ?? '',
        placeholder,
        'aria-label': label,
        ...attrs,
      });
    const q = field('q', 'part of the query name', 'name contains…', { autofocus: true, id: 'query-search' });
    const match = h(
      'select',
      { id: 'queries-match', name: 'match', 'aria-label': 'how the name matches' },
      [
        ['substring', 'contains'],
        ['prefix', 'starts with'],
      ].map(([v, l]) => h('option', { value: v, selected: p.get('match') === v }, l)),
    );
    const client = field('client', 'client address', 'client IP');
    const action = h(
      'select',
      { id: 'queries-action', name: 'action', 'aria-label': 'what dnsward did' },
      h('option', { value: '' }, 'any action'),
      ACTIONS.map((a) => h('option', { value: a, selected: p.get('action') === a }, a)),
    );
    const type = field('type', 'query type', 'type (A, AAAA, …)', { size: '12' });
    const since = h(
      'select',
      { id: 'queries-from', name: 'from', 'aria-label': 'time window' },
      SINCE.map(([v, l]) => h('option', { value: v, selected: (p.get('from') ?? '') === v }, l)),
    );
    const domain = p.get('domain');
    const form = h(
      'form',
      {
        class: 'inline filters',
        role: 'search',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const next = new URLSearchParams();
          for (const [k, v] of [
            ['q', q.value],
            ['match', match.value === 'prefix' ? 'prefix' : ''],
            ['domain', domain ?? ''],
            ['client', client.value],
            ['action', action.value],
            ['type', type.value],
            ['from', since.value],
          ])
            if (v.trim() !== '') next.set(k, v.trim());
          const hash = `#/queries${next.size ? `?${next}` : ''}`;
          // The same address again (a new search for the same thing) fires no hashchange: search here.
          if (location.hash === hash) void this.show(undefined);
          else location.hash = hash;
        },
      },
      q,
      match,
      client,
      action,
      type,
      since,
      h('button', { type: 'submit', class: 'primary', id: 'queries-submit' }, 'Search'),
    );
    clear(
      this.root,
      h('h1', {}, 'Query log'),
      form,
      domain
        ? h(
            'p',
            {},
            h('span', { class: 'chip', id: 'queries-domain' }, `under ${domain}`),
            ' ',
            h('a', { href: '#/queries' }, 'clear'),
          )
        : null,
      this.loading,
      this.results,
    );
    await this.show(undefined);
  }

  private async show(cursor: string | undefined): Promise<void> {
    const query = new URLSearchParams({ limit: String(PAGE) });
    for (const k of FILTERS) {
      const v = this.params.get(k);
      if (v) query.set(k, v);
    }
    if (cursor !== undefined) query.set('cursor', cursor);
    this.loading.hidden = false;
    this.results.setAttribute('aria-busy', 'true');
    let page: QueryPage;
    try {
      page = await api<QueryPage>(`/api/queries?${query}`);
    } catch (err) {
      clear(this.results, h('p', { class: 'error', id: 'queries-error' }, (err as Error).message));
      return;
    } finally {
      this.loading.hidden = true;
      this.results.removeAttribute('aria-busy');
    }
    const index = this.cursors.length - 1;
    const first = index * PAGE + 1;
    const link = (href: string, text: string, cls = 'mono') => h('a', { href, class: cls }, text);
    // Quick list entries for the row's registered domain (admins): the local allow or deny list.
    const admin = this.me?.role === 'admin';
    const quick = (list: 'allow' | 'deny', domain: string) =>
      h(
        'button',
        {
          type: 'button',
          class: `small quick-${list}`,
          'data-domain': domain,
          title: `${list === 'allow' ? 'Allow' : 'Block'} ${domain} and every name under it (local ${list} list)`,
          onclick: () => void addToList(list, domain),
        },
        list === 'allow' ? 'Allow' : 'Block',
      );
    clear(
      this.results,
      page.queryLogMode === 'all'
        ? null
        : h(
            'p',
            { class: 'muted', id: 'queries-mode' },
            `The query log keeps ${page.queryLogMode === 'off' ? 'no' : page.queryLogMode} queries as rows (queryLog.mode); Statistics count every query.`,
          ),
      table(
        ['time', 'client', 'name', 'type', 'action', 'rcode', 'latency', 'reason', ...(admin ? [''] : [])],
        page.queries.map((r) => [
          time(r.t),
          link(`#/client/${encodeURIComponent(r.client)}`, r.client),
          link(`#/domain/${encodeURIComponent(r.domain)}`, r.qname),
          r.qtypeName,
          h('span', { class: `chip ${r.type === 'blocked' || r.type === 'quarantined' ? 'block' : ''}` }, r.type),
          r.rcodeName,
          `${num(r.latencyMs, 1)} ms`,
          r.reason,
          ...(admin
            ? [r.domain ? h('span', { class: 'quick' }, quick('allow', r.domain), quick('deny', r.domain)) : '']
            : []),
        ]),
        h(
          'div',
          { id: 'queries-empty' },
          h('strong', {}, 'No query matches.'),
          'Try fewer filters or a longer time window.',
        ),
      ),
      h(
        'div',
        { class: 'actions pager' },
        h(
          'button',
          {
            type: 'button',
            id: 'queries-newer',
            disabled: index === 0,
            onclick: () => {
              this.cursors.pop();
              void this.show(this.cursors[this.cursors.length - 1]);
            },
          },
          '← Newer',
        ),
        h(
          'span',
          { id: 'queries-range', class: 'muted' },
          page.queries.length === 0 ? 'no rows' : `rows ${num(first)}–${num(first + page.queries.length - 1)}`,
        ),
        h(
          'button',
          {
            type: 'button',
            id: 'queries-older',
            disabled: page.next === null,
            onclick: () => {
              this.cursors.push(page.next ?? undefined);
              void this.show(page.next ?? undefined);
            },
          },
          'Older →',
        ),
      ),
    );
    this.results.querySelector('table')?.setAttribute('id', 'queries-table');
  }
}
