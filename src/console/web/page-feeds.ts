/** Feeds & lists: each response-policy feed's state, "refresh now" for admins, and the local lists. */
import { api, ApiError } from './client.js';
import { localListsSection } from './local-lists.js';
import { ago, clear, h, num, table, time, toast } from './dom.js';
import type { FeedsAnswer, FeedStatus } from './api-types.js';
import type { Me } from './types.js';

function loaded(f: FeedStatus) {
  return f.loadedAt === null
    ? h('span', { class: 'error' }, 'never')
    : h('span', { title: time(f.loadedAt) }, ago(f.loadedAt));
}

export async function feedsPage(root: HTMLElement, me: Me): Promise<void> {
  const [{ feeds }, lists] = await Promise.all([
    api<FeedsAnswer>('/api/feeds'),
    localListsSection(me, () => feedsPage(root, me)),
  ]);
  const admin = me.role === 'admin';
  const refresh = (name: string | undefined, button: HTMLButtonElement) => async () => {
    button.disabled = true;
    button.textContent = 'Refreshing…';
    try {
      const r = await api<FeedsAnswer>(
        name === undefined ? '/api/feeds/refresh' : `/api/feeds/${encodeURIComponent(name)}/refresh`,
        'POST',
      );
      const failed = r.feeds.filter((f) => (name === undefined || f.name === name) && f.lastError !== null);
      toast(
        `Refresh ${name ?? 'all'}: ${r.updated?.length ? `new version of ${r.updated.join(', ')}` : 'no change'}${failed.length ? `; error in ${failed.map((f) => f.name).join(', ')}` : ''}`,
        failed.length > 0,
      );
    } catch (err) {
      toast(`Refresh ${name ?? 'all'}: ${err instanceof ApiError ? err.message : String(err)}`, true);
    }
    await feedsPage(root, me);
  };
  const refreshButton = (name: string | undefined, id: string, label: string) => {
    const b = h(
      'button',
      { type: 'button', id, disabled: !admin, title: admin ? undefined : 'viewers cannot act' },
      label,
    );
    b.addEventListener('click', refresh(name, b));
    return b;
  };
  clear(
    root,
    h('h1', {}, 'Feeds & lists'),
    h(
      'p',
      { class: 'muted' },
      'The response-policy feeds (policy.feeds, and the local lists below): rules in force, their version, when they were loaded and the last error. A reload (SIGHUP) refreshes them too; ',
      h('code', {}, 'dnsward feeds'),
      ' shows the same.',
    ),
    feeds.length === 0
      ? null
      : h('p', { class: 'actions' }, refreshButton(undefined, 'feeds-refresh-all', 'Refresh all now')),
    h(
      'div',
      { id: 'feeds-list' },
      table(
        ['feed', 'category', 'rules', 'version', 'loaded', 'last check', 'groups', 'last error', ''],
        feeds.map((f) => [
          h(
            'span',
            { class: 'feed-name', 'data-feed': f.name },
            h('strong', {}, f.name),
            h('div', { class: 'mono muted' }, f.source),
          ),
          f.category,
          h('span', { class: 'rules' }, num(f.rules)),
          h('span', { class: 'mono' }, f.version || '–'),
          loaded(f),
          f.lastCheck === null ? '–' : h('span', { title: time(f.lastCheck) }, ago(f.lastCheck)),
          f.groups.length === 0
            ? h('span', { class: 'muted', title: 'no policy group uses it' }, 'none: blocks nothing')
            : f.groups.join(', '),
          f.lastError === null
            ? h('span', { class: 'chip ok' }, 'ok')
            : h(
                'span',
                { class: 'error last-error' },
                f.lastError,
                ` (${f.failures} failure${f.failures === 1 ? '' : 's'})`,
              ),
          refreshButton(f.name, `feed-refresh-${f.name}`, 'Refresh now'),
        ]),
        h('span', { id: 'feeds-empty' }, 'No feed is configured (policy.feeds in the configuration file).'),
      ),
    ),
    lists,
  );
}
