/** The live threat feed with its filters and export (one threat's page: page-incident.ts). */
import { api } from './client.js';
import { ago, bytes, clear, h, time } from './dom.js';
import type { SecurityEvent } from './types.js';

/** Tunnel Guard's detections; response-policy hits (feeds, ads, the DoH canary) are shown apart. */
const TUNNEL_TYPES = ['tunnel_detected', 'domain_blocked', 'query_blocked'];
const POLICY_TYPES = ['policy_blocked'];
const VIEWS: Array<[string, string, string[]]> = [
  ['tunnels', 'Tunnels', TUNNEL_TYPES],
  ['policy', 'Policy, ads & DoH canary', POLICY_TYPES],
  ['all', 'All', [...TUNNEL_TYPES, ...POLICY_TYPES]],
];
const SINCE: Array<[string, string]> = [
  ['', 'any time'],
  ['15m', 'last 15 minutes'],
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
];
/** The filters the page keeps in its address (#/threats?…) and sends to the server as they are. */
const FILTERS = ['view', 'type', 'severity', 'client', 'from', 'to'] as const;

export function isThreat(e: SecurityEvent): boolean {
  return TUNNEL_TYPES.includes(e.type) || POLICY_TYPES.includes(e.type);
}

/** A tunnel detection: what the Threats badge counts (policy hits are many and expected). */
export function isTunnel(e: SecurityEvent): boolean {
  return TUNNEL_TYPES.includes(e.type);
}

function typeChip(e: SecurityEvent) {
  const enforced = e.enforced !== false && e.type !== 'tunnel_detected';
  return h('span', { class: `chip ${enforced ? 'block' : 'monitor'}` }, e.type.replace('_', ' '));
}

export function attackChips(e: SecurityEvent) {
  if (!e.attack || e.attack.length === 0) return '–';
  return h(
    'span',
    { class: 'attack' },
    e.attack.map((t) =>
      h(
        'a',
        {
          class: 'chip technique',
          href: `https://attack.mitre.org/techniques/${t.id.replace('.', '/')}/`,
          target: '_blank',
          rel: 'noopener noreferrer',
          title: t.name,
        },
        t.id,
      ),
    ),
  );
}

export class ThreatsPage {
  private threats: SecurityEvent[] = [];
  private readonly view: string;
  private readonly results = h('div', { id: 'threats-results' });

  constructor(
    private readonly root: HTMLElement,
    private readonly params: URLSearchParams = new URLSearchParams(),
  ) {
    this.view = VIEWS.some(([v]) => v === params.get('view')) ? params.get('view')! : 'tunnels';
  }

  /** The server's filter: the address's filters, the view always. */
  private query(): URLSearchParams {
    const q = new URLSearchParams({ view: this.view });
    for (const k of FILTERS) {
      const v = this.params.get(k);
      if (v && k !== 'view') q.set(k, v);
    }
    return q;
  }

  async load(): Promise<void> {
    const p = this.params;
    const types = VIEWS.find(([v]) => v === this.view)![2];
    const type = h(
      'select',
      { id: 'threats-type', name: 'type', 'aria-label': 'event type' },
      h('option', { value: '' }, 'any type'),
      types.map((t) => h('option', { value: t, selected: p.get('type') === t }, t.replace('_', ' '))),
    );
    const severity = h(
      'select',
      { id: 'threats-severity', name: 'severity', 'aria-label': 'minimum severity' },
      h('option', { value: '' }, 'any severity'),
      [3, 5, 7, 8].map((n) =>
        h('option', { value: String(n), selected: p.get('severity') === String(n) }, `severity ≥ ${n}`),
      ),
    );
    const client = h('input', {
      type: 'search',
      id: 'threats-client',
      name: 'client',
      value: p.get('client') ?? '',
      placeholder: 'client IP',
      'aria-label': 'client address',
    });
    const from = h(
      'select',
      { id: 'threats-from', name: 'from', 'aria-label': 'time window' },
      SINCE.map(([v, l]) => h('option', { value: v, selected: (p.get('from') ?? '') === v }, l)),
    );
    const form = h(
      'form',
      {
        class: 'inline filters',
        role: 'search',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const next = new URLSearchParams({ view: this.view });
          for (const [k, v] of [
            ['type', type.value],
            ['severity', severity.value],
            ['client', client.value],
            ['from', from.value],
            ['to', p.get('to') ?? ''],
          ])
            if (v.trim() !== '') next.set(k, v.trim());
          const hash = `#/threats?${next}`;
          if (location.hash === hash) void this.show();
          else location.hash = hash;
        },
      },
      type,
      severity,
      client,
      from,
      h('button', { type: 'submit', class: 'primary', id: 'threats-submit' }, 'Filter'),
    );
    const exportQuery = this.query();
    const exportLink = (format: string) => {
      const q = new URLSearchParams(exportQuery);
      q.set('format', format);
      return h(
        'a',
        { class: 'button', id: `threats-export-${format}`, href: `/api/threats/export?${q}`, download: '' },
        `Export ${format.toUpperCase()}`,
      );
    };
    const keep = new URLSearchParams(p);
    keep.delete('view');
    keep.delete('type');
    clear(
      this.root,
      h('h1', {}, 'Threats'),
      h(
        'nav',
        { class: 'tabs', 'aria-label': 'threat kinds' },
        VIEWS.map(([v, label]) =>
          h(
            'a',
            {
              class: 'button',
              id: `threats-view-${v}`,
              href: `#/threats?${new URLSearchParams([['view', v], ...keep])}`,
              'aria-pressed': v === this.view ? 'true' : 'false',
            },
            label,
          ),
        ),
      ),
      h(
        'p',
        { class: 'muted' },
        this.view === 'policy'
          ? 'Queries response policy refused: feeds (ads, malware, …), DoH resolvers and the DoH canary, newest first.'
          : 'Tunnels detected and blocked, newest first. New ones appear here as they happen.',
      ),
      form,
      h('p', { class: 'actions' }, exportLink('csv'), exportLink('json')),
      this.results,
    );
    await this.show();
  }

  private async show(): Promise<void> {
    const q = this.query();
    q.set('limit', '200');
    this.threats = (await api<{ threats: SecurityEvent[] }>(`/api/threats?${q}`)).threats;
    this.render(new Set());
  }

  /** A live event joins the list when it passes the page's filters (the server applied them to the rest). */
  private matches(e: SecurityEvent): boolean {
    const p = this.params;
    const types = p.get('type') ? [p.get('type')!] : VIEWS.find(([v]) => v === this.view)![2];
    if (!types.includes(e.type)) return false;
    if (p.get('severity') && e.severity < Number(p.get('severity'))) return false;
    if (p.get('client') && e.client !== p.get('client')) return false;
    // A fixed end lies in the past: nothing new belongs.
    return !p.get('to');
  }

  onEvent(e: SecurityEvent): void {
    if (!this.matches(e)) return;
    this.threats.unshift(e);
    this.threats = this.threats.slice(0, 500);
    this.render(new Set([e.id]));
  }

  private render(fresh: Set<string>): void {
    const rows = this.threats.map((e) => {
      const tr = h(
        'tr',
        { class: fresh.has(e.id) ? 'new' : undefined, 'data-incident': e.incident ?? '', 'data-type': e.type },
        h('td', { title: time(Date.parse(e.time)) }, ago(Date.parse(e.time))),
        h('td', {}, typeChip(e)),
        h('td', { class: 'severity' }, String(e.severity)),
        h(
          'td',
          {},
          e.client ? h('a', { href: `#/client/${encodeURIComponent(e.client)}`, class: 'mono' }, e.client) : '–',
        ),
        h(
          'td',
          {},
          e.domain ? h('a', { href: `#/domain/${encodeURIComponent(e.domain)}`, class: 'mono' }, e.domain) : '–',
        ),
        h('td', {}, e.leakedBytes !== undefined ? bytes(e.leakedBytes) : '–'),
        h('td', { class: 'attack-cell' }, attackChips(e)),
        h('td', {}, e.reasons[0] ?? ''),
        h(
          'td',
          {},
          e.incident
            ? h('a', { href: `#/threat/${encodeURIComponent(e.incident)}`, class: 'open-threat' }, `${e.incident} →`)
            : e.policy
              ? h(
                  'span',
                  { class: 'mono', title: `line ${e.policy.line} of ${e.policy.feed} ${e.policy.version}` },
                  `${e.policy.category}: ${e.policy.rule}`,
                )
              : '–',
        ),
      );
      return tr;
    });
    const filtered = FILTERS.some((k) => k !== 'view' && this.params.get(k));
    clear(
      this.results,
      rows.length === 0
        ? h(
            'div',
            { class: 'card empty', id: 'threats-empty' },
            filtered
              ? h('strong', {}, 'No threat matches these filters.')
              : [
                  h('strong', {}, 'No threats so far.'),
                  'Tunnel Guard is learning this network and watching every query; a detection will appear here within a second.',
                ],
          )
        : h(
            'table',
            { id: 'threats' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['when', 'what', 'severity', 'client', 'domain', 'leaked', 'ATT&CK', 'why', 'incident / rule'].map(
                  (x) => h('th', { scope: 'col' }, x),
                ),
              ),
            ),
            h('tbody', {}, rows),
          ),
    );
  }
}
