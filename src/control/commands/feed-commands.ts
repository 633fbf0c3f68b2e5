/** `feeds` and `feeds-refresh`: the response-policy feeds' state, and re-reading them now. */
import type { OperatorHost } from '../operator-host.js';

export function listFeeds(host: OperatorHost) {
  return { feeds: host.feedStatus() };
}

/** Re-reads one feed by name, or every feed; answers with the names whose new version is in force. */
export function refreshFeeds(host: OperatorHost, name: string | undefined) {
  return host.refreshFeeds(name).then((updated) => ({ updated, feeds: host.feedStatus() }));
}
