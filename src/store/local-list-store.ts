/**
 * The local allow and deny lists an operator keeps from the console or the control socket
 * (policy/local-lists.ts applies them as two feeds), in the state file next to the audit log:
 * an entry and its audit entry are written in one transaction, so the log never misses a change.
 */
import type Database from 'better-sqlite3';
import type { ListEntry, ListName } from '../policy/local-list-types.js';
import type { AuditEntry } from './audit-entry.js';

/** Entries kept at most per list: a local list is for quick decisions, a feed for bulk. */
export const MAX_LIST_ENTRIES = 10_000;

export class LocalListStore {
  constructor(
    private readonly db: Database.Database,
    private readonly audit: (entry: AuditEntry) => void,
  ) {}

  /** Both lists' entries, by list then name. */
  entries(): ListEntry[] {
    const rows = this.db
      .prepare('SELECT list, domain, added_at, added_by, comment FROM local_list ORDER BY list, domain')
      .all() as Array<{ list: ListName; domain: string; added_at: number; added_by: string; comment: string | null }>;
    return rows.map((r) => ({
      list: r.list,
      domain: r.domain,
      addedAt: r.added_at,
      addedBy: r.added_by,
      ...(r.comment === null ? {} : { comment: r.comment }),
    }));
  }

  /** Adds (or replaces: who and why change) an entry with its audit entry; throws when the list is full. */
  add(entry: ListEntry, audit: AuditEntry): void {
    this.db
      .transaction(() => {
        const n = (
          this.db
            .prepare('SELECT COUNT(*) AS n FROM local_list WHERE list = ? AND domain != ?')
            .get(entry.list, entry.domain) as { n: number }
        ).n;
        if (n >= MAX_LIST_ENTRIES) throw new Error(`the ${entry.list} list is full (${MAX_LIST_ENTRIES} entries)`);
        this.db
          .prepare(
            'INSERT OR REPLACE INTO local_list (list, domain, added_at, added_by, comment) VALUES (?, ?, ?, ?, ?)',
          )
          .run(entry.list, entry.domain, entry.addedAt, entry.addedBy, entry.comment ?? null);
        this.audit(audit);
      })
      .immediate();
  }

  /** Removes an entry with its audit entry; false (nothing written) when it is not on the list. */
  remove(list: ListName, domain: string, audit: AuditEntry): boolean {
    return this.db
      .transaction(() => {
        const gone = this.db.prepare('DELETE FROM local_list WHERE list = ? AND domain = ?').run(list, domain).changes;
        if (gone > 0) this.audit(audit);
        return gone > 0;
      })
      .immediate();
  }
}
