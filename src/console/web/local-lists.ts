/**
 * The local allow and deny lists on the Feeds & lists page, and the quick "allow"/"block"
 * action the query log's rows use: a name goes on a list (it and everything under it), in force
 * when the server answers; each change asks for a confirmation and an optional comment.
 */
import { api, ApiError } from './client.js';
import { confirmAction } from './confirm-dialog.js';
import { ago, clear, h, table, time, toast } from './dom.js';
import type { ListsAnswer } from './api-types.js';
import type { Me } from './types.js';

type ListName = 'allow' | 'deny';

const WHAT: Record<ListName, { title: (d: string) => string; text: (d: string) => string; label: string }> = {
  allow: {
    title: (d) => `Put ${d} on the allow list?`,
    text: (d) => `No feed blocks ${d} or any name under it, for every client group (Tunnel Guard still watches it).`,
    label: 'Allow',
  },
  deny: {
    title: (d) => `Put ${d} on the deny list?`,
    text: (d) => `${d} and every name under it are blocked for every client group, at once.`,
    label: 'Block',
  },
};

/** Confirms, then adds a name to a list; true when it was added. */
export async function addToList(list: ListName, domain: string): Promise<boolean> {
  const w = WHAT[list];
  const comment = await confirmAction({
    title: w.title(domain),
    text: w.text(domain),
    confirmLabel: w.label,
    danger: list === 'deny',
  });
  if (comment === null) return false;
  try {
    await api<ListsAnswer>(`/api/lists/${list}`, 'POST', { domain, ...(comment ? { comment } : {}) });
    toast(`${domain}: on the ${list} list`);
    return true;
  } catch (err) {
    toast(`${domain}: ${err instanceof ApiError ? err.message : String(err)}`, true);
    return false;
  }
}

/** The lists' section of the Feeds & lists page; `reload` draws the page again after a change. */
export async function localListsSection(me: Me, reload: () => Promise<void>): Promise<HTMLElement> {
  const lists = await api<ListsAnswer>('/api/lists');
  const admin = me.role === 'admin';
  const domain = h('input', {
    type: 'text',
    id: 'list-domain',
    name: 'domain',
    placeholder: 'example.com',
    maxlength: 253,
    required: true,
    'aria-label': 'domain name (and everything under it)',
    disabled: !admin,
  });
  const addButton = (list: ListName) =>
    h(
      'button',
      {
        type: 'button',
        id: `list-add-${list}`,
        class: list === 'deny' ? 'danger' : 'primary',
        disabled: !admin,
        title: admin ? undefined : 'viewers cannot change the lists',
        onclick: async () => {
          if (domain.value.trim() === '') return domain.reportValidity();
          if (await addToList(list, domain.value.trim())) await reload();
        },
      },
      list === 'allow' ? 'Add to allow list' : 'Add to deny list',
    );
  const remove = (list: ListName, d: string) =>
    h(
      'button',
      {
        type: 'button',
        class: 'list-remove',
        'data-domain': d,
        disabled: !admin,
        onclick: async () => {
          const comment = await confirmAction({
            title: `Take ${d} off the ${list} list?`,
            text: list === 'deny' ? `${d} is no longer blocked by this list.` : `The feeds apply to ${d} again.`,
            confirmLabel: 'Remove',
          });
          if (comment === null) return;
          try {
            await api(`/api/lists/${list}/remove`, 'POST', { domain: d, ...(comment ? { comment } : {}) });
            toast(`${d}: off the ${list} list`);
          } catch (err) {
            toast(`${d}: ${err instanceof ApiError ? err.message : String(err)}`, true);
          }
          await reload();
        },
      },
      'Remove',
    );
  const listTable = (list: ListName) => {
    const feed = lists.feeds[list];
    return h(
      'div',
      { class: 'card', id: `list-${list}` },
      h('h2', {}, list === 'allow' ? 'Allow list' : 'Deny list'),
      h(
        'p',
        { class: 'muted' },
        `Feed ${feed?.name ?? '–'}: ${feed?.version || 'not loaded'}${feed?.loadedAt ? `, loaded ${ago(feed.loadedAt)}` : ''}${feed?.lastError ? `; error: ${feed.lastError}` : ''}.`,
      ),
      table(
        ['name (and everything under it)', 'added', 'by', 'comment', ''],
        lists[list].map((e) => [
          h('span', { class: 'mono list-entry' }, e.domain),
          h('span', { title: time(e.addedAt) }, ago(e.addedAt)),
          e.addedBy,
          e.comment ?? '',
          remove(list, e.domain),
        ]),
        `The ${list} list is empty.`,
      ),
    );
  };
  const section = h('section', { id: 'local-lists' });
  clear(
    section,
    h('h2', {}, 'Local allow and deny lists'),
    h(
      'p',
      { class: 'muted' },
      'Quick decisions, in force at once for every client group, without a feed file or a reload: the allow list comes first (no feed blocks its names), then the deny list. Kept in the data directory, applied as the feeds local-allow and local-deny, audited with your comment.',
    ),
    h(
      'form',
      { class: 'inline', onsubmit: (ev: Event) => ev.preventDefault() },
      domain,
      addButton('allow'),
      addButton('deny'),
    ),
    h('div', { class: 'grid wide' }, listTable('allow'), listTable('deny')),
  );
  return section;
}
