/**
 * `dnsward why NAME [--client IP]`: what the response policy would do with a query for NAME
 * from a client, and why: the client's group, the feed, its version and category, the rule as
 * the feed writes it and its line. It loads the configuration's feeds itself (files, and URLs
 * fetched once), so it answers whether or not dnsward runs.
 */
import { isIP } from 'node:net';
import { loadConfig } from '../../config/load-config.js';
import { nameToWire } from '../../dns/name.js';
import { FeedManager, feedConfigs } from '../../policy/feed-manager.js';
import { PolicyEngine } from '../../policy/policy-engine.js';
import { findListener, formatHostPort } from '../../util/address.js';
import { ipBytes } from '../../util/ip-bytes.js';
import { normalName } from '../../policy/policy-rule.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';

export const whyCommand: Command = {
  name: 'why',
  summary: 'explain what the response policy does with a name, and why',
  help: `Usage: dnsward why NAME [--client IP] [--listener NAME|ADDR] [--config FILE] [--json]

Loads the policy feeds of the configuration (the embedded default without
--config), finds the client's group (default client 127.0.0.1, arriving on the
first listener of the configuration unless --listener names one) and prints what a
query for NAME would get: the action, and the feed, version, category, rule and
line that decide it, or that no rule matches. Tunnel Guard's decisions depend on
live traffic and are not predicted here.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { client: { type: 'string' }, listener: { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UsageError('why takes one NAME');
    const name = normalName(positionals[0]);
    if (name === undefined) throw new UsageError(`"${positionals[0]}" is not a domain name`);
    const client = values.client ?? '127.0.0.1';
    if (isIP(client) === 0) throw new UsageError(`--client must be an IP address, not "${client}"`);
    // Upstreams do not matter here; a placeholder keeps the config valid without /etc/resolv.conf.
    const { config } = loadConfig(values.config, { upstreams: ['127.0.0.1'] });
    const feeds = new FeedManager(feedConfigs(config.policy.feeds));
    try {
      await Promise.all([...feeds.feeds.keys()].map((n) => feeds.refresh(n)));
      const engine = new PolicyEngine(feeds, config.policy, config.listen);
      const listener = values.listener === undefined ? formatHostPort(config.listen[0].address) : findListener(values.listener, config.listen);
      if (listener === undefined) throw new UsageError(`--listener: no listener "${values.listener}" in the configuration`);
      const group = engine.groupOf(client, listener);
      const d = engine.decideBytes(nameToWire(name), 0, group, ipBytes(client));
      const broken = [...feeds.feeds.values()].filter((f) => f.lastError !== null).map((f) => `${f.config.name}: ${f.lastError}`);
      if (values.json) {
        console.log(JSON.stringify({ name, client, listener, group: group?.config.name ?? null, decision: d === null ? null : { ...d, match: undefined, scope: d.match.scope }, feedErrors: broken }));
        return 0;
      }
      for (const b of broken) console.error(`warning: feed ${b}`);
      console.log(`${name} from ${client} on ${listener}: group ${group?.config.name ?? '(none: only built-in rules apply)'}`);
      if (d === null) {
        console.log('  no policy rule matches (or the group allows it): the query goes on to Tunnel Guard, the cache and the upstreams');
        return 0;
      }
      console.log(`  ${d.enforced ? 'answer' : 'would answer (group in monitor mode)'}: ${d.action.toUpperCase()}`);
      console.log(`  because: ${d.category} rule "${d.rule}" (${d.match.scope} match), line ${d.line} of feed ${d.feed}, version ${d.version}`);
      return 0;
    } finally {
      await feeds.stop();
    }
  },
};
