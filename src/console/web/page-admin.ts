/** Actions & audit (active blocks, allows, quarantines, dynamic blocks, who did what) and the running config. */
import { api, ApiError } from './client.js';
import { confirmAction } from './confirm-dialog.js';
import { clear, h, table, time, toast } from './dom.js';
import type { Me } from './types.js';
import type { BlocksReply } from '../../control/blocks-reply.js';

export async function auditPage(root: HTMLElement, me: Me): Promise<void> {
  const [b, { audit }] = await Promise.all([
    api<BlocksReply>('/api/blocks'),
    api<{
      audit: Array<{ at: number; who: string; action: string; subject: string; detail: string; comment?: string }>;
    }>('/api/audit'),
  ]);
  const admin = me.role === 'admin';
  // Each change is confirmed first, with an optional comment kept in the audit log.
  const run = (label: string, path: string, body: object) => async () => {
    const comment = await confirmAction({
      title: `${label}?`,
      text: 'The change takes effect at once, on every node of a cluster.',
      confirmLabel: label,
    });
    if (comment === null) return;
    try {
      await api(path, 'POST', { ...body, ...(comment === '' ? {} : { comment }) });
      toast(`${label}: done`);
      await auditPage(root, me);
    } catch (err) {
      toast(`${label}: ${err instanceof ApiError ? err.message : String(err)}`, true);
    }
  };
  // In a cluster every entry says which node decided it (a column only then).
  const cluster = b.cluster ?? null;
  const node = (origin: string | null | undefined) => (cluster === null ? [] : [origin ?? cluster.node]);
  const nodeColumn = cluster === null ? [] : ['decided on'];
  clear(
    root,
    h('h1', {}, 'Actions & audit'),
    cluster === null
      ? null
      : h(
          'p',
          { class: 'muted', id: 'cluster' },
          `Cluster node ${cluster.node}: ${cluster.connected ? 'connected to Redis; blocks, allows and quarantines are shared with every node' : 'Redis unreachable; deciding alone until it returns'}.`,
        ),
    h('h2', {}, 'Blocked domains'),
    table(
      ['domain', 'for', 'incident', 'since', 'until', 'offence', ...nodeColumn, ''],
      b.blocks.map((x) => [
        // A client-scoped block takes the domain from one client only; the others keep it.
        h('span', { class: 'mono' }, x.domain),
        x.scope === 'client' ? h('span', { class: 'mono' }, `${x.client} only`) : 'everyone',
        h('a', { href: `#/threat/${encodeURIComponent(x.incident)}` }, x.incident),
        time(x.since * 1000),
        time(x.until * 1000),
        String(x.offenses),
        ...node(x.origin),
        h(
          'button',
          {
            type: 'button',
            disabled: !admin,
            onclick: run(`Unblock ${x.domain} (every block on it)`, '/api/actions/unblock', { domain: x.domain }),
          },
          'Unblock',
        ),
      ]),
      'No domain is blocked.',
    ),
    h('h2', {}, 'Allowed'),
    table(
      ['domain', 'client range', 'until', 'by', ...nodeColumn],
      b.allows.map((a) => [a.domain ?? '*', a.client ?? '*', time(a.until * 1000), a.by, ...node(a.origin)]),
      'No allow override.',
    ),
    h('h2', {}, 'Quarantined clients'),
    table(
      ['client', 'until', 'by', ...nodeColumn, ''],
      b.quarantines.map((q) => [
        h('span', { class: 'mono' }, q.client),
        time(q.until * 1000),
        q.by,
        ...node(q.origin),
        h(
          'button',
          {
            type: 'button',
            disabled: !admin,
            onclick: run(`Release ${q.client}`, '/api/actions/release', { client: q.client }),
          },
          'Release',
        ),
      ]),
      'No client is quarantined.',
    ),
    h('h2', {}, 'Dynamic blocks'),
    table(
      ['client prefix', 'rule', 'action', 'since', 'until', 'why', ''],
      b.dynamic.map((d) => [
        h('span', { class: 'mono' }, d.prefix),
        d.rule,
        d.action,
        time(d.since * 1000),
        time(d.until * 1000),
        d.reason,
        h(
          'button',
          {
            type: 'button',
            disabled: !admin,
            onclick: run(`Lift ${d.prefix}`, '/api/actions/unblock-client', { client: d.prefix }),
          },
          'Lift',
        ),
      ]),
      'No client prefix is dynamically blocked.',
    ),
    h('h2', {}, 'Audit log: who did what'),
    table(
      ['when', 'who', 'action', 'subject', 'detail', 'comment'],
      audit
        .slice()
        .reverse()
        .map((a) => [
          time(a.at),
          a.who,
          a.action,
          h('span', { class: 'mono' }, a.subject),
          h('span', { class: 'mono' }, a.detail),
          a.comment ?? '',
        ]),
      'No change made yet.',
    ),
  );
}

export async function configPage(root: HTMLElement): Promise<void> {
  const { yaml } = await api<{ yaml: string }>('/api/config');
  clear(
    root,
    h('h1', {}, 'Running configuration'),
    h(
      'p',
      { class: 'muted' },
      'Read-only, as YAML with every default filled in; secrets are redacted. Change the file and reload (SIGHUP or dnsward reload).',
    ),
    h('pre', { id: 'config' }, yaml),
  );
}
