/**
 * The operator commands a running dnsward serves (the control socket, and the console's actions
 * through the same call), one file per family in commands/. Each runs against the OperatorHost
 * (operator-host.ts) and throws with a message the CLI shows.
 */
import { listBlocks } from './commands/blocks-command.js';
import { unblockClient } from './commands/dynamic-block-commands.js';
import { listFeeds, refreshFeeds } from './commands/feed-commands.js';
import { listFloods } from './commands/flood-commands.js';
import { addToList, listLists, removeFromList } from './commands/list-commands.js';
import { allow, disallow, monitor, quarantine, release, unblock } from './commands/guard-commands.js';
import type { ControlRequest } from './control-protocol.js';
import { operatorComment } from './operator-comment.js';
import type { OperatorHost } from './operator-host.js';

/** The feeds' commands touch no block: after the others the server republishes the block table. */
export function isFeedCommand(request: ControlRequest): boolean {
  return (
    request.cmd === 'feeds' ||
    request.cmd === 'feeds-refresh' ||
    request.cmd === 'lists' ||
    request.cmd === 'list-add' ||
    request.cmd === 'list-remove'
  );
}

export function runOperatorCommand(host: OperatorHost, given: ControlRequest): unknown {
  const now = Date.now() / 1000;
  // One check for every caller (the socket, the console): the commands keep what it returns.
  const comment = operatorComment(given.comment);
  const request: ControlRequest = { ...given, comment };
  switch (request.cmd) {
    case 'blocks':
      return listBlocks(host, now);
    case 'floods':
      return listFloods(host);
    case 'feeds':
      return listFeeds(host);
    case 'feeds-refresh':
      return refreshFeeds(host, request.name);
    case 'lists':
      return listLists(host);
    case 'list-add':
      return addToList(host, request);
    case 'list-remove':
      return removeFromList(host, request);
    case 'unblock-client':
      return unblockClient(host, request);
    case 'allow':
      return allow(host, request, now);
    case 'disallow':
      return disallow(host, request, now);
    case 'unblock':
      return unblock(host, request, now);
    case 'quarantine':
      return quarantine(host, request, now);
    case 'release':
      return release(host, request, now);
    case 'monitor':
      return monitor(host, request, now);
    default:
      throw new Error(`unknown command ${(request as { cmd: string }).cmd}`);
  }
}
