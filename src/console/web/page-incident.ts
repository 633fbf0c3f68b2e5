/**
 * One incident: what Tunnel Guard decided and why (the query's journey through the stages, its
 * evidence in words), its timeline, the bytes leaked, what is in force now, and the operator's
 * actions. Each action asks for a confirmation and an optional comment (kept in the audit log),
 * then the page is read again, so it shows the state the action left.
 */
import { api, ApiError } from './client.js';
import { lineChart } from './charts.js';
import { confirmAction } from './confirm-dialog.js';
import { bytes, clear, h, table, time, toast } from './dom.js';
import { evidenceLabel } from './evidence-labels.js';
import { attackChips } from './page-threats.js';
import type { IncidentLeak, IncidentState, IncidentStep } from './api-types.js';
import type { LearnedDomain, Me, SecurityEvent, StageReport } from './types.js';

interface IncidentAnswer {
  incident: string;
  primary: SecurityEvent;
  events: SecurityEvent[];
  domain: string;
  clients: string[];
  firstSeen: number | null;
  learned: LearnedDomain | null;
  history: IncidentStep[];
  leak: IncidentLeak;
  state: IncidentState;
  timeline: Array<{ t: number; qname: string; client: string; type: string }>;
  queryLogMode: string;
}

const LEAK_COLORS = ['var(--danger)', 'var(--accent)', 'var(--warn)', 'var(--ok)'];

/** A stage's evidence in words, each line keeping its raw key in its title (the CLI and SIEM name it so). */
function evidenceLines(ev: StageReport['evidence']) {
  return Object.entries(ev)
    .filter(([k]) => k !== 'samples')
    .map(([k, v]) => {
      const e = evidenceLabel(k, v);
      return h(
        'div',
        { title: e.known ? `${k} = ${Array.isArray(v) ? v.join(', ') : String(v)}` : k, 'data-key': k },
        h('span', { class: 'key' }, e.label),
        `: ${e.value}`,
      );
    });
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
      h('div', { class: 'evidence' }, evidenceLines(s.evidence)),
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

const STEP_NAMES: Record<string, string> = {
  tunnel_detected: 'reported',
  domain_blocked: 'blocked',
  query_blocked: 'query blocked',
  allow: 'allowed',
  disallow: 'allow removed',
  unblock: 'unblocked',
  quarantine: 'quarantined',
  release: 'released',
  'allowlist-add': 'on the allow list',
  'allowlist-remove': 'off the allow list',
  'denylist-add': 'on the deny list',
  'denylist-remove': 'off the deny list',
};

function stepName(s: IncidentStep): string {
  if (s.what === 'block_end') return s.planned ? 'block ends' : 'block expired';
  return STEP_NAMES[s.what] ?? s.what;
}

function timelineView(steps: IncidentStep[], incident: string): HTMLElement {
  if (steps.length === 0) return h('div', { class: 'card empty', id: 'incident-timeline' }, 'Nothing recorded.');
  return h(
    'table',
    { id: 'incident-timeline' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['when', 'what', 'by', 'incident', 'detail'].map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h(
      'tbody',
      {},
      steps.map((s) =>
        h(
          'tr',
          {
            'data-kind': s.kind,
            'data-what': s.what,
            class: s.incident !== undefined && s.incident !== incident ? 'other' : undefined,
          },
          h('td', {}, time(s.t), s.planned ? h('span', { class: 'muted' }, ' (planned)') : null),
          h(
            'td',
            {},
            h(
              'span',
              { class: `chip ${s.kind === 'detection' ? (s.enforced === false ? 'monitor' : 'block') : ''}` },
              stepName(s),
            ),
          ),
          h('td', {}, s.by),
          h(
            'td',
            {},
            s.incident === undefined
              ? '–'
              : s.incident === incident
                ? h('span', { class: 'mono' }, 'this one')
                : h('a', { href: `#/threat/${encodeURIComponent(s.incident)}`, class: 'mono' }, s.incident),
          ),
          h('td', {}, s.text, s.comment === undefined ? null : h('div', { class: 'comment' }, `“${s.comment}”`)),
        ),
      ),
    ),
  );
}

function stateView(d: IncidentAnswer): HTMLElement {
  const until = (s: number) => time(s * 1000);
  const lines = [
    ...d.state.blocks.map((b) =>
      h(
        'li',
        { class: 'in-force', 'data-state': 'block' },
        `${b.domain} blocked${b.scope === 'client' ? ` for ${b.client}` : ''} until ${until(b.until)} (incident ${b.incident})`,
      ),
    ),
    ...d.state.allows.map((a) =>
      h(
        'li',
        { 'data-state': 'allow' },
        `${a.domain ?? 'every domain'}${a.client ? ` from ${a.client}` : ''} allowed by ${a.by} until ${until(a.until)}`,
      ),
    ),
    ...d.state.quarantines.map((q) =>
      h(
        'li',
        { class: 'in-force', 'data-state': 'quarantine' },
        `${q.client} quarantined by ${q.by} until ${until(q.until)}`,
      ),
    ),
  ];
  return h(
    'div',
    { class: 'card', id: 'threat-state' },
    h('h2', {}, 'In force now'),
    lines.length === 0
      ? h('p', { 'data-state': 'none' }, `Nothing: ${d.domain} resolves for every client.`)
      : h('ul', {}, lines),
  );
}

export class ThreatDetailPage {
  constructor(
    private readonly root: HTMLElement,
    private readonly me: Me,
  ) {}

  async load(incident: string): Promise<void> {
    let d: IncidentAnswer;
    try {
      d = await api<IncidentAnswer>(`/api/threats/${encodeURIComponent(incident)}`);
    } catch (err) {
      clear(this.root, h('h1', {}, incident), h('p', { class: 'error' }, (err as Error).message));
      return;
    }
    const e = d.primary;
    const admin = this.me.role === 'admin';
    const forSelect = (id: string) =>
      h(
        'select',
        { 'aria-label': 'for how long', id },
        ['1h', '12h', '1d', '7d'].map((v) => h('option', { value: v, selected: v === '1d' }, v)),
      );
    const allowFor = forSelect('allow-for');
    const quarantineFor = forSelect('quarantine-for');
    const act = (
      label: string,
      cls: string,
      id: string,
      confirm: () => { title: string; text: string },
      run: (comment: string | undefined) => Promise<unknown>,
    ) =>
      h(
        'button',
        {
          type: 'button',
          class: cls,
          id,
          disabled: !admin,
          title: admin ? undefined : 'viewers cannot act',
          onclick: async () => {
            const c = confirm();
            const comment = await confirmAction({ ...c, confirmLabel: label, danger: cls === 'danger' });
            if (comment === null) return;
            try {
              await run(comment === '' ? undefined : comment);
              toast(`${label}: done`);
            } catch (err) {
              toast(`${label}: ${err instanceof ApiError ? err.message : String(err)}`, true);
            }
            // Read again: the page shows what the action left in force, and the action in the timeline.
            await this.load(incident);
          },
        },
        label,
      );
    const blocked = d.state.blocks.length > 0;
    const domainAllow = d.state.allows.find((a) => a.domain === d.domain && a.client === undefined);
    const quarantined = e.client !== undefined && d.state.quarantines.some((q) => q.client === e.client);
    const leak = d.leak;
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
          h('div', { class: 'label' }, 'Action at detection'),
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
          h('div', { class: 'value', id: 'leaked-bytes', title: `${leak.total} bytes` }, bytes(leak.total)),
          h(
            'div',
            { class: 'muted' },
            leak.clients.length > 1 ? `${leak.clients.length} clients, ` : '',
            "Tunnel Guard's estimate, as in the chart",
          ),
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
      stateView(d),
      h(
        'div',
        { class: 'actions' },
        act(
          'Allow domain',
          'primary',
          'allow-domain',
          () => ({
            title: `Allow ${d.domain}?`,
            text: `Tunnel Guard lets every query to ${d.domain} through for ${allowFor.value}, lifting its blocks; the tunnel, if it is one, passes.`,
          }),
          (comment) => api('/api/actions/allow', 'POST', { domain: d.domain, for: allowFor.value, comment }),
        ),
        allowFor,
        domainAllow === undefined
          ? null
          : act(
              'Remove allow',
              '',
              'disallow-domain',
              () => ({ title: `Remove the allow of ${d.domain}?`, text: 'Tunnel Guard judges its queries again.' }),
              (comment) => api('/api/actions/disallow', 'POST', { domain: d.domain, comment }),
            ),
        blocked
          ? act(
              'Unblock',
              '',
              'unblock-domain',
              () => ({
                title: `Unblock ${d.domain}?`,
                text: 'Its blocks are lifted now; Tunnel Guard blocks it again if the traffic goes on.',
              }),
              (comment) => api('/api/actions/unblock', 'POST', { domain: d.domain, comment }),
            )
          : null,
        e.client === undefined
          ? null
          : quarantined
            ? act(
                `Release ${e.client}`,
                '',
                'release-client',
                () => ({ title: `Release ${e.client}?`, text: 'Its queries are answered again.' }),
                (comment) => api('/api/actions/release', 'POST', { client: e.client, comment }),
              )
            : [
                act(
                  `Quarantine ${e.client}`,
                  'danger',
                  'quarantine-client',
                  () => ({
                    title: `Quarantine ${e.client}?`,
                    text: `Every query of ${e.client} is refused (or sinkholed) for ${quarantineFor.value}.`,
                  }),
                  (comment) =>
                    api('/api/actions/quarantine', 'POST', { client: e.client, for: quarantineFor.value, comment }),
                ),
                quarantineFor,
              ],
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
        'Each Tunnel Guard stage with its score (0 = normal, 1 = certain tunnel) and its evidence (hover for the raw key); the outlined stage weighed most.',
      ),
      pipelineView(e),
      h('h2', {}, 'Timeline'),
      h(
        'p',
        { class: 'muted' },
        `Tunnel Guard's events on ${d.domain} (a later offence is a new incident), when each block ends, and what operators did, with their comments.`,
      ),
      timelineView(d.history, d.incident),
      h(
        'div',
        { class: 'grid wide' },
        lineChart(
          `Estimated bytes leaked through ${d.domain} (Tunnel Guard's estimate at each event, per client)`,
          leak.clients.map((c, i) => ({
            name: c.client,
            color: LEAK_COLORS[i % LEAK_COLORS.length],
            points: c.points,
          })),
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
