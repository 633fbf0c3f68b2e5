import { configWarnings } from '../../config/config-warnings.js';
import { loadConfig } from '../../config/load-config.js';
import { formatHostPort } from '../../util/address.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate a configuration file and print what it means',
  help: `Usage: dnsward check-config FILE

Validates FILE against the configuration schema. On success prints the effective
listeners and upstreams and exits 0; on error names the file, each bad key and
what was expected, and exits 1. Settings that are valid but likely not meant (a
feed in no group) are printed as warnings on standard error.`,
  async run(argv) {
    const { positionals } = parseCommandArgs(argv, {}, true);
    if (positionals.length !== 1) throw new UsageError('check-config takes exactly one FILE');
    const { config, source, upstreamSource } = loadConfig(positionals[0]);
    const warnings = configWarnings(config);
    console.log(
      `${source}: OK${warnings.length > 0 ? `, ${warnings.length} warning${warnings.length > 1 ? 's' : ''}` : ''}`,
    );
    for (const w of warnings) console.error(`warning: ${w}`);
    console.log(
      `  listen:    ${config.listen.map((l) => `${formatHostPort(l.address)} (${l.protocols.join('+')})`).join(', ')}`,
    );
    console.log(
      `  upstreams: ${config.upstreams.servers.map((s) => `${formatHostPort(s.address)}/${s.protocol}`).join(', ')} [${config.upstreams.policy}, from ${upstreamSource}]`,
    );
    for (const z of config.forwardZones)
      console.log(`  zone ${z.zone}: ${z.servers.map((s) => formatHostPort(s.address)).join(', ')} [${z.policy}]`);
    for (const z of config.zones)
      console.log(
        `  local zone ${z.name}: ${z.records.length} records from ${z.source}${z.balance.length > 0 ? `, ${z.balance.length} balanced names` : ''}${z.view === null ? '' : `, view: ${[...(z.view.groups === null ? [] : [`groups ${z.view.groups.join(', ')}`]), ...(z.view.listeners === null ? [] : [`listeners ${z.view.listeners.join(', ')}`])].join('; ')}`}`,
      );
    const groups = config.policy.groups;
    if (config.policy.feeds.length > 0)
      console.log(
        `  policy:    ${config.policy.feeds.length} feeds; groups ${groups.map((g) => `${g.name} (${g.clients.length > 0 ? g.clients.join(' ') : 'every client'}: ${g.feeds.join(', ') || 'no feeds'})`).join(', ')}`,
      );
    console.log(
      `  cache:     ${config.cache.enabled ? `${config.cache.maxEntries} entries, ${config.cache.maxBytes} bytes` : 'off'}`,
    );
    console.log(`  threads:   ${config.threads}`);
    return 0;
  },
};
