/**
 * `dnsward floods`: the domains the random-subdomain flood detector has flagged now, with what it
 * saw at the onset and the rate their new names are limited to. Flagged domains are not blocked:
 * cached names keep being answered. Talks to the running dnsward over the control socket.
 */
import { ControlError, sendControl } from '../../control/control-client.js';
import type { FloodState } from '../../flood/flood-detector.js';
import { type Command, parseCommandArgs } from '../args.js';
import { LOCATION_OPTIONS, locateDataDir } from '../server-location.js';

export const floodsCommand: Command = {
  name: 'floods',
  locates: true,
  summary: 'list domains under a random-subdomain flood (limited, not blocked)',
  help: `Usage: dnsward floods [-c FILE] [--data-dir DIR] [--json]

Lists the domains the running dnsward's random-subdomain flood detector has
flagged (defence.randomSubdomain): since when, the new names and failure answers
a second at the onset against the domain's learned normal, about how many
clients, the busiest second since, and the new names a second the domain may
still send upstream. --json prints the raw reply.`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { ...LOCATION_OPTIONS, json: { type: 'boolean' } });
    let reply: { enabled: boolean; mode: string; tracked: number; floods: FloodState[] };
    try {
      reply = (await sendControl(locateDataDir(values), { cmd: 'floods' })) as typeof reply;
    } catch (err) {
      if (err instanceof ControlError) {
        console.error(`dnsward floods: ${err.message}`);
        return 1;
      }
      throw err;
    }
    if (values.json) {
      console.log(JSON.stringify(reply, null, 2));
      return 0;
    }
    console.log(
      `Random-subdomain flood detection: ${reply.enabled ? reply.mode : 'off'}, ${reply.tracked} domains tracked`,
    );
    console.log(`\nDomains under a flood (${reply.floods.length}):`);
    for (const f of reply.floods) {
      console.log(
        `  ${f.domain}  since ${new Date(f.since * 1000).toISOString()}, new names limited to ${f.allowedRate}/s toward the upstreams`,
      );
      console.log(
        `    onset: ${f.onsetNewNames} new names/s (normal ${f.normalNewNames}/s), ${f.onsetFailures} NXDOMAIN/SERVFAIL/s (normal ${f.normalFailures}/s), about ${f.onsetClients} clients`,
      );
      console.log(`    since: ${f.newNames} new names, peak ${f.peakNewNames}/s, last second ${f.lastNewNames}/s`);
    }
    return 0;
  },
};
