/**
 * The local allow and deny lists an operator edits from the console (or the control socket):
 * quick decisions ("block this domain now", "stop blocking that one") without writing a feed
 * file and reloading. Entries live in the state file (store/local-list-store.ts); each list is
 * written as an RPZ zone in the data directory and applied as a feed of its own, `local-allow`
 * (PASSTHRU: the name and everything under it are never blocked by a feed) and `local-deny`
 * (NXDOMAIN, or the group's block answer), first in every policy group, allow before deny. A
 * change rewrites the file and refreshes that one feed: in force in a second, no restart, and
 * shown by `dnsward feeds` and the console's Feeds & lists page like any feed.
 *
 * Tunnel Guard is not affected: its allows are the operator's `allow` (the incident page).
 */
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { DEFAULT_POLICY_GROUP } from '../config/schema.js';
import type { LocalListStore } from '../store/local-list-store.js';
import type { ListEntry, ListName } from './local-list-types.js';

export const LOCAL_FEEDS: Record<ListName, { name: string; category: string; action: string }> = {
  allow: { name: 'local-allow', category: 'allowlist', action: 'rpz-passthru.' },
  deny: { name: 'local-deny', category: 'denylist', action: '.' },
};

/** Written on every change, re-read at least this often anyway (a reload re-reads it too). */
const LOCAL_REFRESH_MS = 3_600_000;

export function localListPath(dataDir: string, list: ListName): string {
  return join(dataDir, `${LOCAL_FEEDS[list].name}.rpz`);
}

/**
 * The configuration with the two local lists as feeds, first in every group (a configuration
 * with no group gets the implicit everyone group). Idempotent: a reload passes the file's config.
 */
export function withLocalLists(config: Config): Config {
  const p = config.policy;
  const ours = new Set(Object.values(LOCAL_FEEDS).map((f) => f.name));
  // Listed after the configured feeds (`dnsward feeds` shows them last); first in each group's order.
  const feeds = [
    ...p.feeds.filter((f) => !ours.has(f.name)),
    ...(['allow', 'deny'] as const).map((list) => ({
      name: LOCAL_FEEDS[list].name,
      category: LOCAL_FEEDS[list].category,
      format: 'rpz' as const,
      path: localListPath(config.dataDir, list),
      zone: `${LOCAL_FEEDS[list].name}.dnsward.`,
      refresh: LOCAL_REFRESH_MS,
    })),
  ];
  const groups =
    p.groups.length > 0
      ? p.groups
      : [
          {
            name: DEFAULT_POLICY_GROUP,
            clients: [],
            listeners: [],
            feeds: [],
            categories: [],
            allow: [],
            action: 'nxdomain' as const,
            mode: 'block' as const,
          },
        ];
  return {
    ...config,
    policy: {
      ...p,
      feeds,
      groups: groups.map((g) => ({ ...g, feeds: [...ours, ...g.feeds.filter((f) => !ours.has(f))] })),
    },
  };
}

/** A name as a list takes it: lower case, no trailing dot, letters, digits, `-` and `_` in labels. */
export function listDomain(text: string): string {
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  const label = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
  if (name === '' || name.length > 253 || !name.split('.').every((l) => label.test(l)))
    throw new Error(`"${text}" is not a domain name (a list entry covers the name and everything under it)`);
  return name;
}

/** A list as the RPZ zone its feed reads: each entry covers the name and everything under it. */
export function renderList(list: ListName, entries: readonly ListEntry[], serial: number): string {
  const { name, action } = LOCAL_FEEDS[list];
  const lines = [
    `; dnsward's local ${list} list, written from the state file at start and on every change:`,
    `; edit it from the console (Feeds & lists), not here.`,
    `$ORIGIN ${name}.dnsward.`,
    '$TTL 60',
    `@ SOA localhost. hostmaster.localhost. ${serial} 3600 600 86400 60`,
    '@ NS localhost.',
  ];
  for (const e of entries) {
    if (e.list !== list) continue;
    lines.push(`${e.domain} CNAME ${action}`, `*.${e.domain} CNAME ${action}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The lists of a running dnsward: entries in the store, files for the feeds, and the refresh. */
export class LocalLists {
  constructor(
    private readonly store: LocalListStore,
    private readonly dataDir: string,
    private readonly refresh: (feed: string) => Promise<unknown>,
  ) {}

  entries(): ListEntry[] {
    return this.store.entries();
  }

  /** Writes both files (at start: the store is the truth, a file edited by hand is replaced). */
  writeFiles(): void {
    const entries = this.store.entries();
    for (const list of ['allow', 'deny'] as const) this.write(list, entries);
  }

  async add(list: ListName, text: string, who: string, comment: string | undefined): Promise<ListEntry> {
    const domain = listDomain(text);
    const entry: ListEntry = { list, domain, addedAt: Date.now(), addedBy: who, ...(comment ? { comment } : {}) };
    this.store.add(entry, {
      at: entry.addedAt,
      who,
      action: `${list}list-add`,
      subject: domain,
      detail: JSON.stringify({ list, feed: LOCAL_FEEDS[list].name }),
      ...(comment ? { comment } : {}),
    });
    await this.apply(list);
    return entry;
  }

  async remove(list: ListName, text: string, who: string, comment: string | undefined): Promise<void> {
    const domain = listDomain(text);
    const removed = this.store.remove(list, domain, {
      at: Date.now(),
      who,
      action: `${list}list-remove`,
      subject: domain,
      detail: JSON.stringify({ list, feed: LOCAL_FEEDS[list].name }),
      ...(comment ? { comment } : {}),
    });
    if (!removed) throw new Error(`${domain} is not on the ${list} list`);
    await this.apply(list);
  }

  private async apply(list: ListName): Promise<void> {
    this.write(list, this.store.entries());
    await this.refresh(LOCAL_FEEDS[list].name);
  }

  /** Whole or not at all: a feed reading the file mid-write would see half a list. */
  private write(list: ListName, entries: readonly ListEntry[]): void {
    const path = localListPath(this.dataDir, list);
    const temp = `${path}.${process.pid}.tmp`;
    // The serial says which version is in force (dnsward feeds shows it); seconds, always rising.
    writeFileSync(temp, renderList(list, entries, Math.floor(Date.now() / 1000)), { mode: 0o600 });
    renameSync(temp, path);
  }
}
