/** A feed's state as the server reports it: `dnsward feeds --json`, GET /api/feeds, metrics. Types only (the web UI imports it). */
export interface FeedStatus {
  name: string;
  category: string;
  /** Its path or URL. */
  source: string;
  /** The policy groups it applies to (none: it blocks nothing). */
  groups: string[];
  /** RPZ serial or content hash; '' before the first load. */
  version: string;
  format: string | null;
  rules: number;
  /** When the version in force was loaded (ms since the epoch). */
  loadedAt: number | null;
  lastCheck: number | null;
  lastError: string | null;
  skipped: Record<string, number>;
  errors: number;
  failures: number;
}
