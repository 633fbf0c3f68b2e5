/** One entry of the audit log (who changed what), as the state file keeps it; types only. */
export interface AuditEntry {
  /** Milliseconds since the epoch. */
  at: number;
  who: string;
  action: string;
  subject: string;
  /** JSON: what the change was. */
  detail: string;
  /** The operator's own note on the action (control/operator-comment.ts bounds it). */
  comment?: string;
}
