/**
 * The loaded feeds, for threads that answer queries: the thread that loads the feeds (a
 * FeedManager) posts feedsMessage() to each such thread, and each makes a SharedFeeds of it, a
 * FeedSource for its PolicyEngine. Rule tables are in shared memory (FeedManager puts them
 * there), so posting the message shares them: whatever the number of threads, the process holds
 * one copy of each table. What is not in shared memory is small and copied with the message:
 * the feeds' state, local data, and response-IP and client-IP rules (a map of objects each
 * thread builds again, one entry per rule: few in the feeds that have any).
 */
import type { FeedSource, FeedState } from './feed-manager.js';
import { type IpRule, IpRuleSet } from './ip-rule-set.js';
import { isSharedRuleSetData, RuleSet, type RuleSetData } from './rule-set.js';

/** A feed's state as it travels: tables as their data, IP rules as lists. */
export type SharedFeed = Omit<FeedState, 'rules' | 'ipRules' | 'clientIpRules'> & {
  /** The rule table, its arrays in shared memory; null until the feed has loaded. */
  table: RuleSetData | null;
  ipRules: IpRule[] | null;
  clientIpRules: IpRule[] | null;
};

/** Every feed of a FeedSource, loaded or not (a group's categories name feeds by their config). */
export interface SharedFeedsMessage {
  feeds: SharedFeed[];
}

/**
 * The feeds as they are now, to post (postMessage, no transfer list) to another thread. Throws
 * when a table is not in shared memory: posted, it would be copied, once per thread.
 */
export function feedsMessage(source: FeedSource): SharedFeedsMessage {
  const feeds: SharedFeed[] = [];
  for (const f of source.feeds.values()) {
    const { rules, ipRules, clientIpRules, ...state } = f;
    if (rules !== null && !isSharedRuleSetData(rules.data))
      throw new Error(`feed ${f.config.name}: its rule table is not in shared memory`);
    feeds.push({
      ...state,
      table: rules?.data ?? null,
      ipRules: ipRules?.list() ?? null,
      clientIpRules: clientIpRules?.list() ?? null,
    });
  }
  return { feeds };
}

/** The feeds as another thread posted them: views of the shared tables, nothing copied. */
export class SharedFeeds implements FeedSource {
  readonly feeds = new Map<string, FeedState>();

  constructor(message: SharedFeedsMessage) {
    this.update(message);
  }

  /**
   * Takes a newer message. Each feed's state is replaced whole (a lookup sees one version or
   * the other); a PolicyEngine over this object sees the new tables at its next lookup. Feeds
   * the message no longer has are dropped.
   */
  update(message: SharedFeedsMessage): void {
    const names = new Set<string>();
    for (const { table, ipRules, clientIpRules, ...state } of message.feeds) {
      names.add(state.config.name);
      this.feeds.set(state.config.name, {
        ...state,
        rules: table === null ? null : new RuleSet(table),
        ipRules: ipRules === null ? null : new IpRuleSet(ipRules),
        clientIpRules: clientIpRules === null ? null : new IpRuleSet(clientIpRules),
      });
    }
    for (const name of this.feeds.keys()) if (!names.has(name)) this.feeds.delete(name);
  }
}
