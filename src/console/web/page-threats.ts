/** The live threat feed with its filters and export (one threat's page: page-incident.ts). */
import { api, ApiError } from './client.js';
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

/** What /api/threats answers: `node` is this node's name in a cluster (null alone); `fleet` with scope=fleet. */
interface ThreatsReply {
  threats: SecurityEvent[];
  node: string | null;
  fleet?: { scanned: number; dropped: number; truncated: boolean };
}

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
  /** 'fleet': every cluster node's events, read from Redis; 'node': this node's. */
  private readonly scope: 'node' | 'fleet';
  /** This node's name in a cluster, once the server said; null alone. */
  private node: string | null = null;
  private readonly results = h('div', { id: 'threats-results' });
  private readonly scopeNav = h('div', { id: 'threats-scope' });

  constructor(
    private readonly root: HTMLElement,
    private readonly params: URLSearchParams = new URLSearchParams(),
  ) {
    this.view = VIEWS.some(([v]) => v === params.get('view')) ? params.get('view')! : 'tunnels';
    this.scope = params.get('scope') === 'fleet' ? 'fleet' : 'node';
  }

  /** The server's filter: the address's filters, the view and the scope always. */
  private query(): URLSearchParams {
    const q = new URLSearchParams({ view: this.view });
    for (const k of FILTERS) {
      const v = this.params.get(k);
      if (v && k !== 'view') q.set(k, v);
    }
    if (this.scope === 'fleet') q.set('scope', 'fleet');
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
          if (this.scope === 'fleet') next.set('scope', 'fleet');
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
      this.scopeNav,
      form,
      h('p', { class: 'actions' }, exportLink('csv'), exportLink('json')),
      this.results,
    );
    await this.show();
  }

  private async show(): Promise<void> {
    const q = this.query();
    q.set('limit', '200');
    let reply: ThreatsReply;
    try {
      reply = await api<ThreatsReply>(`/api/threats?${q}`);
    } catch (err) {
      // The fleet scope reads Redis: when it cannot, the page says so (this node's scope still works).
      if (!(err instanceof ApiError) || this.scope !== 'fleet') throw err;
      this.node = '';
      this.renderScope();
      clear(
        this.results,
        h(
          'div',
          { class: 'card empty', id: 'threats-fleet-unavailable' },
          h('strong', {}, 'The fleet view is unavailable.'),
          ` ${err.message}. This node's own threats are under "This node"; DNS is not affected.`,
        ),
      );
      return;
    }
    this.threats = reply.threats;
    this.node = reply.node;
    this.renderScope(reply.fleet);
    this.render(new Set());
  }

  /** In a cluster: "This node" or "Fleet" (every node's events, from Redis); nothing when alone. */
  private renderScope(fleet?: ThreatsReply['fleet']): void {
    if (this.node === null) return clear(this.scopeNav);
    const keep = new URLSearchParams(this.params);
    keep.delete('scope');
    const fleetQuery = new URLSearchParams(keep);
    fleetQuery.set('scope', 'fleet');
    clear(
      this.scopeNav,
      h(
        'nav',
        { class: 'tabs', 'aria-label': 'whose threats' },
        h(
          'a',
          {
            class: 'button',
            id: 'threats-scope-node',
            href: `#/threats?${keep}`,
            'aria-pressed': this.scope === 'node' ? 'true' : 'false',
          },
          this.node === '' ? 'This node' : `This node (${this.node})`,
        ),
        h(
          'a',
          {
            class: 'button',
            id: 'threats-scope-fleet',
            href: `#/threats?${fleetQuery}`,
            'aria-pressed': this.scope === 'fleet' ? 'true' : 'false',
          },
          'Fleet',
        ),
      ),
      this.scope === 'fleet' && fleet !== undefined
        ? h(
            'p',
            { class: 'muted', id: 'threats-fleet-note' },
            `Every node's threats, read from Redis when this page opened (reload for newer); the node column says which node saw each.${fleet.truncated ? ' Only the newest part of the fleet stream was searched.' : ''}${fleet.dropped > 0 ? ` ${fleet.dropped} malformed entries skipped.` : ''}`,
          )
        : null,
    );
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
    // The live stream is this node's: the fleet list is read from Redis, reloaded on demand.
    if (this.scope === 'fleet' || !this.matches(e)) return;
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
        this.node === null ? null : h('td', { class: 'node mono' }, e.node),
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
                [
                  'when',
                  'what',
                  'severity',
                  ...(this.node === null ? [] : ['node']),
                  'client',
                  'domain',
                  'leaked',
                  'ATT&CK',
                  'why',
                  'incident / rule',
                ].map((x) => h('th', { scope: 'col' }, x)),
              ),
            ),
            h('tbody', {}, rows),
          ),
    );
  }
}
