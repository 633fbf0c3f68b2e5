/**
 * `dnsward feeds`: the response-policy feeds of the running dnsward (rules, version, last load,
 * last error, the groups they apply to), and `dnsward feeds refresh [NAME]` to re-read them now,
 * as an operator expects after editing a local list.
 */
import { ControlError, sendControl } from '../../control/control-client.js';
import { type Command, parseCommandArgs, UsageError } from '../args.js';
import { LOCATION_OPTIONS, locateDataDir } from '../server-location.js';
import type { FeedStatus } from '../../policy/feed-status.js';

const when = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());

export const feedsCommand: Command = {
  name: 'feeds',
  locates: true,
  summary: 'list response-policy feeds, or re-read them now (feeds refresh [NAME])',
  help: `Usage: dnsward feeds [--json] [-c FILE] [--data-dir DIR]
       dnsward feeds refresh [NAME] [--json] [-c FILE] [--data-dir DIR]

Lists the running dnsward's policy feeds: rules loaded, version (RPZ serial or
content hash), last load, last error, and the groups each applies to. "refresh"
re-reads every feed (or NAME) now: a local file is read again when it changed, a
URL is fetched (conditionally). A reload (SIGHUP) refreshes them too. Exits 1
when a refreshed feed has an error.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, ...LOCATION_OPTIONS }, true);
    const [action, name, ...extra] = positionals;
    if (action !== undefined && action !== 'refresh')
      throw new UsageError(`feeds takes nothing or "refresh [NAME]", not "${action}"`);
    if (extra.length > 0) throw new UsageError('feeds refresh takes at most one NAME');
    let reply: { feeds: FeedStatus[]; updated?: string[] };
    try {
      reply = (await sendControl(
        locateDataDir(values),
        action === 'refresh' ? { cmd: 'feeds-refresh', name } : { cmd: 'feeds' },
        120_000,
      )) as typeof reply;
    } catch (err) {
      if (err instanceof ControlError) {
        console.error(`dnsward feeds: ${err.message}`);
        return 1;
      }
      throw err;
    }
    if (values.json) console.log(JSON.stringify(reply, null, 2));
    else {
      if (reply.updated !== undefined)
        console.log(
          `refreshed: ${reply.updated.length > 0 ? `new version of ${reply.updated.join(', ')}` : 'no change'}`,
        );
      if (reply.feeds.length === 0) console.log('no policy feeds configured (policy.feeds)');
      for (const f of reply.feeds) {
        console.log(`${f.name} (${f.category}) ${f.source}`);
        console.log(
          `  ${f.rules} rules, version ${f.version || 'none'}, loaded ${when(f.loadedAt)}, groups: ${f.groups.join(', ') || 'none: it blocks nothing'}`,
        );
        if (f.lastError !== null) console.log(`  error: ${f.lastError} (${f.failures} failures)`);
      }
    }
    const shown = name === undefined ? reply.feeds : reply.feeds.filter((f) => f.name === name);
    return action === 'refresh' && shown.some((f) => f.lastError !== null) ? 1 : 0;
  },
};
