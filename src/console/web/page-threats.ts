/** The live threat feed, and one threat's detail: its journey through the stages, and actions. */
import { api, ApiError } from './client.js';
import { lineChart } from './charts.js';
import { ago, bytes, clear, h, table, time, toast } from './dom.js';
import type { LearnedDomain, Me, SecurityEvent, StageReport } from './types.js';

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

interface ThreatDetail {
  incident: string;
  primary: SecurityEvent;
  events: SecurityEvent[];
  domain: string;
  clients: string[];
  firstSeen: number | null;
  learned: LearnedDomain | null;
  timeline: Array<{ t: number; qname: string; client: string; type: string; bytes: number }>;
  queryLogMode: string;
}

function evidenceText(ev: StageReport['evidence']): string[] {
  return Object.entries(ev)
    .filter(([k]) => k !== 'samples')
    .slice(0, 4)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`);
}

/** The query's journey: the pipeline's stages, Tunnel Guard's five opened up with scores and evidence. */
export function pipelineView(e: SecurityEvent): HTMLElement {
  const enforced = e.enforced !== false && (e.type === 'domain_blocked' || e.type === 'query_blocked');
  const hottest = e.stages
    .filter((s) => ['query', 'state', 'normal'].includes(s.name))
    .reduce<StageReport | null>((a, s) => (a === null || s.score > a.score ? s : a), null);
  const simple = (name: string, note: string, skipped = false) =>
    h(
      'div',
      { class: `step${skipped ? ' skipped' : ''}` },
      h('div', { class: 'name' }, name),
      h('div', { class: 'evidence' }, note),
    );
  const arrow = () => h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→');
  const guardSteps = e.stages.map((s) =>
    h(
      'div',
      { class: `step guard${s === hottest ? ' hot' : ''}`, 'data-stage': s.name },
      h('div', { class: 'name' }, s.name),
      h(
        'div',
        { class: 'score', title: `score ${s.score}` },
        h('span', { style: `width:${Math.round(Math.min(1, s.score) * 100)}%` }),
      ),
      h('div', {}, `score ${s.score}`),
      h(
        'div',
        { class: 'evidence' },
        evidenceText(s.evidence).map((t) => h('div', {}, t)),
      ),
    ),
  );
  return h(
    'div',
    { class: 'pipeline', id: 'pipeline', role: 'list', 'aria-label': 'stages the query went through' },
    simple('listener', 'UDP/TCP'),
    arrow(),
    simple('parse', 'question read'),
    arrow(),
    simple('policy', 'no rule matched'),
    arrow(),
    h('div', { class: 'guard-box' }, h('span', { class: 'title' }, 'Tunnel Guard'), guardSteps),
    arrow(),
    simple('cache', enforced ? 'not reached: blocked' : 'looked up', enforced),
    arrow(),
    simple('upstream', enforced ? 'not reached: blocked' : 'forwarded', enforced),
  );
}

export class ThreatDetailPage {
  constructor(
    private readonly root: HTMLElement,
    private readonly me: Me,
  ) {}

  async load(incident: string): Promise<void> {
    let d: ThreatDetail;
    try {
      d = await api<ThreatDetail>(`/api/threats/${encodeURIComponent(incident)}`);
    } catch (err) {
      clear(this.root, h('h1', {}, incident), h('p', { class: 'error' }, (err as Error).message));
      return;
    }
    const e = d.primary;
    let cumulative = 0;
    const leak = d.timeline.map((p): [number, number] => [p.t, (cumulative += p.bytes)]);
    const admin = this.me.role === 'admin';
    const forSelect = () =>
      h(
        'select',
        { 'aria-label': 'for how long' },
        ['1h', '12h', '1d', '7d'].map((v) => h('option', { value: v, selected: v === '1d' }, v)),
      );
    const allowFor = forSelect();
    const quarantineFor = forSelect();
    const act = (label: string, cls: string, run: () => Promise<unknown>, id: string) =>
      h(
        'button',
        {
          type: 'button',
          class: cls,
          id,
          disabled: !admin,
          title: admin ? undefined : 'viewers cannot act',
          onclick: async () => {
            try {
              await run();
              toast(`${label}: done`);
              await this.load(incident);
            } catch (err) {
              toast(`${label}: ${err instanceof ApiError ? err.message : String(err)}`, true);
            }
          },
        },
        label,
      );
    clear(
      this.root,
      h('p', {}, h('a', { href: '#/threats' }, '← Threats')),
      h('h1', {}, `${e.type.replace('_', ' ')} · `, h('span', { class: 'mono' }, d.domain), ' · ', d.incident),
      h(
        'div',
        { class: 'grid' },
        h(
          'div',
          { class: 'card stat' },
          h('div', { class: 'label' }, 'Action'),
          h(
            'div',
            { class: 'value', id: 'threat-action' },
            e.enforced === false ? 'reported (monitor)' : (e.action ?? e.type),
          ),
        ),
        h(
          'div',
          { class: 'card stat' },
          h('div', { class: 'label' }, 'Estimated bytes leaked'),
          h('div', { class: 'value' }, bytes(e.leakedBytes ?? 0)),
        ),
        h(
          'div',
          { class: 'card stat' },
          h('div', { class: 'label' }, 'Domain first seen'),
          h('div', { class: 'value', style: 'font-size:16px' }, d.firstSeen ? time(d.firstSeen * 1000) : '–'),
        ),
        h(
          'div',
          { class: 'card stat' },
          h('div', { class: 'label' }, 'Decided'),
          h('div', { class: 'value', style: 'font-size:16px' }, time(Date.parse(e.time))),
        ),
        h(
          'div',
          { class: 'card stat' },
          h('div', { class: 'label' }, 'MITRE ATT&CK'),
          h(
            'div',
            { class: 'value', id: 'threat-attack', style: 'font-size:14px' },
            attackChips(e),
            (e.attack ?? []).map((t) => h('div', { class: 'muted' }, `${t.id} ${t.name}`)),
          ),
        ),
      ),
      h('h2', {}, 'Why'),
      h(
        'ul',
        { class: 'reasons', id: 'reasons' },
        e.reasons.map((r) => h('li', {}, r)),
      ),
      h('h2', {}, "The query's journey"),
      h(
        'p',
        { class: 'muted' },
        'Each Tunnel Guard stage with its score (0 = normal, 1 = certain tunnel) and top evidence; the outlined stage weighed most.',
      ),
      pipelineView(e),
      h(
        'div',
        { class: 'actions' },
        act(
          'Allow domain',
          'primary',
          () => api('/api/actions/allow', 'POST', { domain: d.domain, for: allowFor.value }),
          'allow-domain',
        ),
        allowFor,
        act('Unblock', '', () => api('/api/actions/unblock', 'POST', { domain: d.domain }), 'unblock-domain'),
        e.client
          ? [
              act(
                `Quarantine ${e.client}`,
                'danger',
                () => api('/api/actions/quarantine', 'POST', { client: e.client, for: quarantineFor.value }),
                'quarantine-client',
              ),
              quarantineFor,
            ]
          : null,
      ),
      h(
        'div',
        { class: 'grid wide' },
        lineChart(
          `Bytes in query names toward ${d.domain} (cumulative, an upper bound of the payload)`,
          [{ name: 'bytes', color: 'var(--danger)', points: leak }],
          (v) => bytes(v),
        ),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Sample names'),
          h(
            'ul',
            {},
            (e.samples ?? []).map((s) => h('li', { class: 'mono' }, s)),
          ),
          h('h2', {}, 'Clients involved'),
          h(
            'ul',
            {},
            d.clients.map((c) => h('li', {}, h('a', { href: `#/client/${encodeURIComponent(c)}`, class: 'mono' }, c))),
          ),
        ),
      ),
      h('h2', {}, 'Events of this incident'),
      table(
        ['time', 'type', 'by', 'reason'],
        d.events.map((x) => [time(Date.parse(x.time)), x.type, x.operator ?? 'Tunnel Guard', x.reasons[0] ?? '']),
      ),
      h('h2', {}, `Logged queries toward ${d.domain}`),
      d.queryLogMode === 'all'
        ? null
        : h('p', { class: 'muted' }, `The query log keeps ${d.queryLogMode} queries (queryLog.mode).`),
      table(
        ['time', 'client', 'name', 'what'],
        d.timeline
          .slice(-50)
          .reverse()
          .map((q) => [time(q.t), q.client, h('span', { class: 'mono' }, q.qname), q.type]),
      ),
    );
  }
}
