/**
 * The policy feeds as an I/O thread sees them: the main thread's FeedManager loads and refreshes
 * them; each I/O thread gets their tables in a message and looks names up in them. The rule
 * tables' typed arrays are what dominates (96 MiB at 5M rules); see the memory note in
 * docs/ARCHITECTURE.md for whether they are shared or copied per thread.
 */
import type { FeedManager, FeedSource, FeedState } from '../policy/feed-manager.js';
import { IpRuleSet } from '../policy/ip-rule-set.js';
import { RuleSet, type RuleSetData } from '../policy/rule-set.js';

type IpRuleList = ReturnType<IpRuleSet['toList']>;

export interface FeedMessage extends Omit<FeedState, 'rules' | 'ipRules' | 'clientIpRules'> {
  rules: RuleSetData | null;
  ipRules: IpRuleList | null;
  clientIpRules: IpRuleList | null;
}

export type FeedsMessage = FeedMessage[];

/** The loaded feeds, to post to the I/O threads. */
export function feedsMessage(manager: FeedManager): FeedsMessage {
  return [...manager.feeds.values()].map((f) => ({
    ...f,
    rules: f.rules === null ? null : f.rules.data,
    ipRules: f.ipRules === null ? null : f.ipRules.toList(),
    clientIpRules: f.clientIpRules === null ? null : f.clientIpRules.toList(),
  }));
}

/** The feeds on the receiving thread, as the policy engine reads them. */
export function threadFeeds(message: FeedsMessage): FeedSource {
  const feeds = new Map<string, FeedState>();
  for (const f of message) {
    feeds.set(f.config.name, {
      ...f,
      rules: f.rules === null ? null : new RuleSet(f.rules),
      ipRules: f.ipRules === null ? null : new IpRuleSet(f.ipRules),
      clientIpRules: f.clientIpRules === null ? null : new IpRuleSet(f.clientIpRules),
    });
  }
  return { feeds };
}
