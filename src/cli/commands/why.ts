/**
 * `dnsward why NAME [--client IP]`: what the response policy would do with a query for NAME
 * from a client, and why: the client's group, the feed, its version and category, the rule as
 * the feed writes it and its line. It loads the configuration's feeds itself (files, and URLs
 * fetched once), so it answers whether or not dnsward runs. With --resolve it also asks the
 * upstream and checks the answer's CNAME chain and addresses as the policy stage does (the same
 * code: src/policy/answer-match.ts).
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { decode, type Answer } from 'dns-packet';
import type { Config } from '../../config/schema.js';
import { loadConfig } from '../../config/load-config.js';
import { nameToWire } from '../../dns/name.js';
import { qtypeFromText, RcodeName } from '../../dns/wire.js';
import { matchAnswer } from '../../policy/answer-match.js';
import { FeedManager, feedConfigs } from '../../policy/feed-manager.js';
import { localListPath, withLocalLists } from '../../policy/local-lists.js';
import { type PolicyDecision, PolicyEngine, type PolicyGroup } from '../../policy/policy-engine.js';
import { findListener, formatHostPort, type HostPort, parseHostPort } from '../../util/address.js';
import { ZoneRouter } from '../../upstream/zone-router.js';
import { ipBytes } from '../../util/ip-bytes.js';
import { normalName } from '../../policy/policy-rule.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';
import { askUpstreamOnce, type UpstreamServer } from '../../upstream/ask-once.js';

export const whyCommand: Command = {
  name: 'why',
  summary: 'explain what the response policy does with a name, and why',
  help: `Usage: dnsward why NAME [--client IP] [--listener NAME|ADDR] [--config FILE]
                  [--resolve [--type TYPE] [--server ADDR[:PORT]]] [--json]

Loads the policy feeds of the configuration (the embedded default without
--config), finds the client's group (default client 127.0.0.1, arriving on the
first listener of the configuration unless --listener names one) and prints what a
query for NAME would get: the action, and the feed, version, category, rule and
line that decide it, or that no rule matches.

--resolve  when no rule stops the name itself, asks the upstream dnsward would
           ask (the forward zone's first server, else the first of upstreams;
           --server overrides) for NAME (--type, default A) and checks the
           answer as dnsward does: each CNAME target and each A/AAAA address
           (rpz-ip rules). Prints the answer and what, if anything, blocks it.

Tunnel Guard's decisions depend on live traffic and are not predicted here.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        client: { type: 'string' },
        listener: { type: 'string' },
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        resolve: { type: 'boolean' },
        type: { type: 'string' },
        server: { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('why takes one NAME');
    const name = normalName(positionals[0]);
    if (name === undefined) throw new UsageError(`"${positionals[0]}" is not a domain name`);
    const client = values.client ?? '127.0.0.1';
    if (isIP(client) === 0) throw new UsageError(`--client must be an IP address, not "${client}"`);
    if (!values.resolve && (values.type !== undefined || values.server !== undefined))
      throw new UsageError('--type and --server go with --resolve');
    const qtype = qtypeFromText(values.type ?? 'A');
    if (qtype === null)
      throw new UsageError(`--type must be a query type such as A, AAAA or TYPE65, not "${values.type}"`);
    const server = values.server === undefined ? undefined : parseHostPort(values.server, 53);
    if (typeof server === 'string') throw new UsageError(`--server: ${server}`);
    // Without --resolve upstreams do not matter; a placeholder keeps the config valid without /etc/resolv.conf.
    const { config: fileConfig } = loadConfig(
      values.config,
      values.resolve && server === undefined ? {} : { upstreams: ['127.0.0.1'] },
    );
    // The local allow and deny lists as the running dnsward wrote them (none before its first start).
    const config = existsSync(localListPath(fileConfig.dataDir, 'deny')) ? withLocalLists(fileConfig) : fileConfig;
    const feeds = new FeedManager(feedConfigs(config.policy.feeds));
    try {
      await Promise.all([...feeds.feeds.keys()].map((n) => feeds.refresh(n)));
      const engine = new PolicyEngine(feeds, config.policy, config.listen);
      const listener =
        values.listener === undefined
          ? formatHostPort(config.listen[0].address)
          : findListener(values.listener, config.listen);
      if (listener === undefined)
        throw new UsageError(`--listener: no listener "${values.listener}" in the configuration`);
      const group = engine.groupOf(client, listener);
      const d = engine.decideBytes(nameToWire(name), 0, group, ipBytes(client));
      const broken = [...feeds.feeds.values()]
        .filter((f) => f.lastError !== null)
        .map((f) => `${f.config.name}: ${f.lastError}`);
      // An enforced decision on the name answers the query before any upstream is asked.
      const resolved =
        values.resolve && (d === null || !d.enforced)
          ? await resolveAndMatch(engine, group, config, name, qtype, server)
          : null;
      if (values.json) {
        console.log(
          JSON.stringify({
            name,
            client,
            listener,
            group: group?.config.name ?? null,
            decision: decisionJson(d),
            resolved:
              resolved === null
                ? null
                : {
                    ...resolved,
                    match:
                      resolved.match === null
                        ? null
                        : { via: resolved.match.via, decision: decisionJson(resolved.match.decision) },
                  },
            feedErrors: broken,
          }),
        );
        return 0;
      }
      for (const b of broken) console.error(`warning: feed ${b}`);
      console.log(
        `${name} from ${client} on ${listener}: group ${group?.config.name ?? '(none: only built-in rules apply)'}`,
      );
      if (d === null) {
        console.log(
          `  no policy rule matches the name (or the group allows it): the query goes on to Tunnel Guard, the cache and the upstreams${values.resolve ? '' : ' (--resolve checks their answer too)'}`,
        );
      } else {
        console.log(`  ${d.enforced ? 'answer' : 'would answer (group in monitor mode)'}: ${d.action.toUpperCase()}`);
        console.log(
          `  because: ${d.category} rule "${d.rule}" (${d.match.scope} match), line ${d.line} of feed ${d.feed}, version ${d.version}`,
        );
        if (values.resolve && d.enforced)
          console.log('  not resolved: the policy answers before any upstream is asked');
      }
      if (resolved !== null) {
        console.log(
          `  ${resolved.server} answers ${resolved.rcode}${resolved.answers.length === 0 ? ', no records' : ':'}`,
        );
        for (const a of resolved.answers) console.log(`    ${a.name} ${a.ttl} ${a.type} ${a.data}`);
        const m = resolved.match;
        if (m === null) console.log('  the answer passes: no CNAME target or address in it matches a rule');
        else {
          console.log(
            `  ${m.decision.enforced ? 'answer' : 'would answer (group in monitor mode)'}: ${m.decision.action === 'drop' ? 'NXDOMAIN (DROP once an answer exists)' : m.decision.action.toUpperCase()}`,
          );
          console.log(
            `  because: ${m.via}${m.decision.category} rule "${m.decision.rule}" (${m.decision.match.scope} match), line ${m.decision.line} of feed ${m.decision.feed}, version ${m.decision.version}`,
          );
        }
      }
      return 0;
    } finally {
      await feeds.stop();
    }
  },
};

function decisionJson(d: PolicyDecision | null): object | null {
  return d === null ? null : { ...d, match: undefined, scope: d.match.scope };
}

interface Resolved {
  server: string;
  rcode: string;
  answers: Array<{ name: string; ttl: number; type: string; data: string }>;
  match: { via: string; decision: PolicyDecision } | null;
}

/** The upstream dnsward would ask for NAME: the server's own zone routing, to the first server of each pool. */
function upstreamFor(config: Config, name: string): UpstreamServer {
  const router = new ZoneRouter(
    config.upstreams.servers[0],
    config.forwardZones.map((z) => ({ zone: z.zone, pool: z.servers[0] })),
  );
  return router.poolFor(nameToWire(name.toLowerCase()).toString('latin1'));
}

async function resolveAndMatch(
  engine: PolicyEngine,
  group: PolicyGroup | undefined,
  config: Config,
  name: string,
  qtype: number,
  server: HostPort | undefined,
): Promise<Resolved> {
  const upstream: UpstreamServer =
    server === undefined ? upstreamFor(config, name) : { address: server, protocol: 'udp' };
  const answer = await askUpstreamOnce(upstream, name, qtype, config.upstreams.timeout * config.upstreams.attempts);
  const packet = decode(answer);
  const data = (a: Answer) =>
    'data' in a
      ? Buffer.isBuffer(a.data)
        ? a.data.toString('hex')
        : Array.isArray(a.data)
          ? a.data.map(String).join(' ')
          : typeof a.data === 'object'
            ? JSON.stringify(a.data)
            : String(a.data)
      : '';
  const match = matchAnswer(engine, answer, nameToWire(name), 0, (g: PolicyGroup | undefined) => g, group);
  return {
    server: formatHostPort(upstream.address),
    rcode: RcodeName[answer[3] & 0xf] ?? `RCODE${answer[3] & 0xf}`,
    answers: (packet.answers ?? []).map((a) => ({
      name: a.name,
      ttl: 'ttl' in a ? (a.ttl ?? 0) : 0,
      type: a.type,
      data: data(a),
    })),
    match,
  };
}
