/** Every `dnsward` subcommand, in the order help lists them. */
import type { Command } from './args.js';
import { analyzeCommand } from './commands/analyze.js';
import { checkConfigCommand } from './commands/check-config.js';
import { allowCommand, blocksCommand, quarantineCommand, unblockCommand } from './commands/guard-operator.js';
import { floodsCommand } from './commands/floods.js';
import { feedsCommand } from './commands/feeds.js';
import { eventsCommand, queriesCommand } from './commands/history.js';
import { tokenCommand, userCommand } from './commands/console-users.js';
import { whyCommand } from './commands/why.js';
import { reloadCommand } from './commands/reload.js';
import { serveCommand } from './commands/serve.js';

export const commands: readonly Command[] = [
  serveCommand,
  checkConfigCommand,
  reloadCommand,
  analyzeCommand,
  blocksCommand,
  floodsCommand,
  feedsCommand,
  allowCommand,
  unblockCommand,
  quarantineCommand,
  queriesCommand,
  eventsCommand,
  userCommand,
  tokenCommand,
  whyCommand,
];
