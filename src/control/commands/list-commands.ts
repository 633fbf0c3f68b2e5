/**
 * `lists`, `list-add`, `list-remove`: the local allow and deny lists (policy/local-lists.ts).
 * A change is stored with its audit entry, written to the list's feed file and that feed
 * refreshed before the answer: when the command returns, the entry is in force.
 */
import { LOCAL_FEEDS } from '../../policy/local-lists.js';
import type { ControlRequest } from '../control-protocol.js';
import type { OperatorHost } from '../operator-host.js';

type Request<C extends ControlRequest['cmd']> = Extract<ControlRequest, { cmd: C }>;

function lists(host: OperatorHost) {
  if (host.localLists === null) throw new Error('the local lists are not open yet (dnsward is starting)');
  return host.localLists;
}

/** Both lists, with their feeds' state (rules, version, last error). */
export function listLists(host: OperatorHost) {
  const entries = lists(host).entries();
  const status = host.feedStatus();
  const feed = (list: 'allow' | 'deny') => status.find((f) => f.name === LOCAL_FEEDS[list].name) ?? null;
  return {
    allow: entries.filter((e) => e.list === 'allow'),
    deny: entries.filter((e) => e.list === 'deny'),
    feeds: { allow: feed('allow'), deny: feed('deny') },
  };
}

function checkList(list: string): asserts list is 'allow' | 'deny' {
  if (list !== 'allow' && list !== 'deny') throw new Error(`no list "${list}" (lists: allow, deny)`);
}

export async function addToList(host: OperatorHost, request: Request<'list-add'>) {
  checkList(request.list);
  const entry = await lists(host).add(request.list, request.domain, request.who, request.comment);
  return { entry, ...listLists(host) };
}

export async function removeFromList(host: OperatorHost, request: Request<'list-remove'>) {
  checkList(request.list);
  await lists(host).remove(request.list, request.domain, request.who, request.comment);
  return listLists(host);
}
