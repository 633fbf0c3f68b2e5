/**
 * Per-client-group policy: which feeds (by name or category) apply to a client, its allowlist,
 * what a block answers, and whether it is enforced or only reported (monitor, the shadow mode
 * for trying a new feed). The first group whose client ranges contain the client, and whose
 * listeners (when it names any) include the one the query came in on, applies. The client is
 * the query's source address, or, for a downstream resolver in `trustEcsFrom`, the subnet its
 * EDNS Client Subnet option names (an MSP's per-customer forwarder, a carrier's gateway).
 * Within a group the allowlist comes first, then the built-in rules, then feeds in order: the
 * first feed with a match decides (as RPZ zones do in order).
 */
import type { Config } from '../config/schema.js';
import type { BlockAnswer } from '../dns/reply.js';
import { findListener } from '../util/address.js';
import type { FeedSource, FeedState } from './feed-manager.js';
import type { IpRule } from './ip-rule-set.js';
import { GroupIndex } from './group-index.js';
import { NameProbe, RuleSet, type RuleMatch } from './rule-set.js';
import { RuleTableBuilder } from './rule-table-builder.js';
import type { RuleAction } from './policy-rule.js';

/** How a list rule's block is answered (the answer builder's choices, src/dns/reply.ts). */
export type { BlockAnswer };

export interface GroupConfig {
  name: string;
  /** CIDR ranges; empty = every client. */
  clients: string[];
  /** Listener names or addresses; empty = every listener. */
  listeners: string[];
  /** Feed names and categories this group uses. */
  feeds: string[];
  categories: string[];
  allow: string[];
  action: BlockAnswer;
  mode: 'block' | 'monitor';
}

export interface PolicyDecision {
  group: string;
  feed: string;
  category: string;
  version: string;
  /** The rule as it reads in the feed's format, and where. */
  rule: string;
  line: number;
  /** What the answer is: a rule's own action, or the group's block answer for list rules. */
  action: Exclude<RuleAction, 'block'> | BlockAnswer;
  enforced: boolean;
  match: RuleMatch;
}

/** Names Firefox checks before it turns DNS-over-HTTPS on by itself: NXDOMAIN keeps it off. */
export const DOH_CANARY = ['use-application-dns.net'];

/** Well-known public DoH/DoT resolver names, for the optional `doh-resolvers` category. */
export const PUBLIC_DOH_RESOLVERS = [
  'dns.google',
  'dns.google.com',
  'cloudflare-dns.com',
  'mozilla.cloudflare-dns.com',
  'one.one.one.one',
  '1dot1dot1dot1.cloudflare-dns.com',
  'security.cloudflare-dns.com',
  'family.cloudflare-dns.com',
  'dns.quad9.net',
  'dns9.quad9.net',
  'dns10.quad9.net',
  'dns11.quad9.net',
  'doh.opendns.com',
  'dns.opendns.com',
  'doh.familyshield.opendns.com',
  'dns.adguard.com',
  'dns.adguard-dns.com',
  'dns-family.adguard.com',
  'dns.nextdns.io',
  'doh.cleanbrowsing.org',
  'doh.mullvad.net',
  'dns.mullvad.net',
  'doh.dns.sb',
  'dns.controld.com',
  'freedns.controld.com',
  'doh.libredns.gr',
  'dns.alidns.com',
  'doh.pub',
  'dns.twnic.tw',
  'dns0.eu',
  'open.dns0.eu',
  'kids.dns0.eu',
  'doh.applied-privacy.net',
];

/** A small table of whole subtrees (built-in lists, allowlists), one rule per name. */
function subtreeSet(names: string[], action: 'nxdomain' | 'passthru'): RuleSet {
  const b = new RuleTableBuilder();
  names.forEach((name, i) => b.addName(name.toLowerCase().replace(/\.$/, ''), 'subtree', action, i + 1));
  return new RuleSet(b.build());
}

export interface PolicyGroup {
  config: GroupConfig;
  /** The group's CIDR ranges (config.clients), for the GroupIndex. */
  clients: string[];
  /** Listener addresses (ADDR:PORT), or null for every listener. */
  listeners: Set<string> | null;
  allow: RuleSet;
  feeds: string[];
  dohResolvers: boolean;
}

/** The rule as the feed's own syntax would write it. */
/** The CNAME target an RPZ zone writes for each action. */
const RPZ_TARGET: Record<string, string> = {
  nxdomain: '.',
  nodata: '*.',
  passthru: 'rpz-passthru.',
  drop: 'rpz-drop.',
};

export function ruleText(format: string | undefined, m: RuleMatch, name: string): string {
  switch (format) {
    case 'rpz':
      return `${m.scope === 'wildcard' ? '*.' : ''}${name} ${m.action === 'local-data' ? (m.records ?? []).map((r) => `${r.type} ${r.data}`).join(', ') : `CNAME ${RPZ_TARGET[m.action] ?? '.'}`}`;
    case 'hosts':
      return `0.0.0.0 ${name}`;
    case 'adblock':
      return `${m.exception ? '@@' : ''}||${name}^`;
    case 'domains':
      return m.scope === 'wildcard' ? `*.${name}` : name;
    default:
      return name;
  }
}

export class PolicyEngine {
  private readonly groups: PolicyGroup[];
  /** Whether anything at all can match (lets the stage skip the work when no policy exists). */
  /** The canary or a group's DoH-resolver category: work on every query, whatever the feeds hold. */
  private readonly alwaysActive: boolean;
  /** The feeds some group uses, read at each query's check (their tables change in place on refresh). */
  private readonly usedFeeds: string[];
  private readonly probe = new NameProbe();
  private readonly canary: RuleSet | null;
  private readonly dohResolvers = subtreeSet(PUBLIC_DOH_RESOLVERS, 'nxdomain');

  /** The resolvers whose ECS is believed, as a one-group index (node:net BlockList.check costs µs). */
  private readonly ecsTrusted: GroupIndex<{ clients: string[]; listeners: null }> | null;
  private readonly index: GroupIndex<PolicyGroup>;

  constructor(
    private readonly feeds: FeedSource,
    policy: Pick<Config['policy'], 'groups' | 'dohCanary' | 'trustEcsFrom'>,
    listen: Array<{ address: { host: string; port: number }; name?: string }> = [],
  ) {
    this.canary = policy.dohCanary ? subtreeSet(DOH_CANARY, 'nxdomain') : null;
    this.ecsTrusted =
      policy.trustEcsFrom.length > 0 ? new GroupIndex([{ clients: policy.trustEcsFrom, listeners: null }]) : null;
    this.groups = policy.groups.map((g) => {
      const byCategory = [...feeds.feeds.values()]
        .filter((f) => g.categories.includes(f.config.category))
        .map((f) => f.config.name);
      return {
        config: g,
        clients: g.clients,
        listeners: g.listeners.length > 0 ? new Set(g.listeners.map((ref) => findListener(ref, listen) ?? ref)) : null,
        allow: subtreeSet(g.allow, 'passthru'),
        feeds: [...new Set([...g.feeds, ...byCategory])],
        dohResolvers: g.categories.includes('doh-resolvers'),
      };
    });
    this.index = new GroupIndex(this.groups);
    this.alwaysActive = this.canary !== null || this.groups.some((g) => g.dohResolvers);
    this.usedFeeds = [...new Set(this.groups.flatMap((g) => g.feeds))];
  }

  /**
   * Whether any query can be decided here: the canary, a DoH-resolver category, or a used feed
   * holding a rule. The local allow and deny lists are feeds of every group, empty until an
   * operator adds to them: while every used feed is empty, the stage costs a Map lookup per feed.
   */
  get active(): boolean {
    if (this.alwaysActive) return true;
    for (const name of this.usedFeeds) {
      const f = this.feeds.feeds.get(name);
      if (f !== undefined && ((f.rules?.size ?? 0) > 0 || f.clientIpRules !== null)) return true;
    }
    return false;
  }

  /** Whether this source's EDNS Client Subnet names the client (config `policy.trustEcsFrom`). */
  trustsClientSubnet(source: string): boolean {
    return this.ecsTrusted !== null && this.ecsTrusted.find(source, undefined) !== undefined;
  }

  /** The client's group: resolved once per query by the caller, then passed to the decisions. */
  groupOf(client: string, listener?: string): PolicyGroup | undefined {
    return this.index.find(client, listener);
  }

  /**
   * The wire name at `start` in `buf` (a request's question), from `client` (its address bytes,
   * needed only when a feed has client-IP rules). Null when nothing matched, or an allow or
   * PASSTHRU did.
   */
  decideBytes(
    buf: Uint8Array,
    start: number,
    group: PolicyGroup | undefined,
    client?: Uint8Array,
  ): PolicyDecision | null {
    const p = this.probe;
    p.setBytes(buf, start);
    if (group !== undefined && group.allow.size > 0 && group.allow.match(p) !== undefined) return null;
    const enforced = group === undefined || group.config.mode === 'block';
    const answer = group?.config.action ?? 'nxdomain';
    const make = (
      feed: string,
      category: string,
      version: string,
      format: string | undefined,
      m: RuleMatch,
    ): PolicyDecision => {
      const name = p.nameAt(m.offset);
      return {
        group: group?.config.name ?? 'default',
        feed,
        category,
        version,
        rule: ruleText(format, m, name),
        line: m.line,
        action: m.action === 'block' ? answer : m.action,
        enforced,
        match: m,
      };
    };
    if (this.canary !== null) {
      const m = this.canary.match(p);
      if (m !== undefined) return make('builtin', 'doh-canary', 'builtin', 'domains', m);
    }
    if (group === undefined) return null;
    if (group.dohResolvers) {
      const m = this.dohResolvers.match(p);
      if (m !== undefined) return { ...make('builtin', 'doh-resolvers', 'builtin', 'domains', m), action: answer };
    }
    for (const name of group.feeds) {
      const f: FeedState | undefined = this.feeds.feeds.get(name);
      if (f === undefined) continue;
      // Within one zone a client-IP trigger comes before a QNAME trigger (RPZ precedence).
      const c = client === undefined ? undefined : f.clientIpRules?.match(client);
      if (c !== undefined) return c.action === 'passthru' ? null : this.ipDecision(group, name, f, c);
      // An empty list (the local lists when nobody added to them) costs no lookup.
      if (f.rules === null || f.rules.size === 0) continue;
      const m = f.rules.match(p);
      if (m === undefined) continue;
      // PASSTHRU (and adblock exceptions) end the search: this feed says the name is fine.
      if (m.action === 'passthru') return null;
      return make(name, f.config.category, f.version, f.format, m);
    }
    return null;
  }

  /**
   * An address in an answer against the group's response-IP (rpz-ip) rules, feeds in order;
   * the query name's allowlist still applies. `buf`/`start`: the query's wire name.
   */
  decideAddress(
    address: Uint8Array,
    buf: Uint8Array,
    start: number,
    group: PolicyGroup | undefined,
  ): PolicyDecision | null {
    if (group === undefined) return null;
    let probed = false;
    for (const name of group.feeds) {
      const f: FeedState | undefined = this.feeds.feeds.get(name);
      const r = f?.ipRules?.match(address);
      if (f === undefined || r === undefined) continue;
      if (!probed && group.allow.size > 0) {
        this.probe.setBytes(buf, start);
        if (group.allow.match(this.probe) !== undefined) return null;
        probed = true;
      }
      if (r.action === 'passthru') return null;
      return this.ipDecision(group, name, f, r);
    }
    return null;
  }

  private ipDecision(group: PolicyGroup, feed: string, f: FeedState, r: IpRule): PolicyDecision {
    const match: RuleMatch = {
      action: r.action,
      scope: 'exact',
      exception: false,
      line: r.line,
      offset: 0,
      records: r.records,
    };
    return {
      group: group.config.name,
      feed,
      category: f.config.category,
      version: f.version,
      rule: ruleText('rpz', match, r.trigger),
      line: r.line,
      action: r.action === 'block' ? group.config.action : (r.action as PolicyDecision['action']),
      enforced: group.config.mode === 'block',
      match,
    };
  }

  /** Whether any feed has client-IP rules (the stage then passes the client's address bytes). */
  get hasClientIpRules(): boolean {
    for (const f of this.feeds.feeds.values()) if (f.clientIpRules !== null) return true;
    return false;
  }

  /** Whether any feed of any group has response-IP rules (answers are then checked). */
  get hasIpRules(): boolean {
    for (const f of this.feeds.feeds.values()) if (f.ipRules !== null) return true;
    return false;
  }
}
