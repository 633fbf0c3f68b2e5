/**
 * The local control channel between `dnsward blocks|allow|unblock|quarantine` (and unblock of a
 * client's dynamic block) and a running
 * `dnsward serve`: a Unix socket in the data directory (`dnsward.sock`, mode 0600, so only its
 * owner can connect: that is the authentication), one JSON request per line and one JSON reply
 * per line. `who` is the connecting user as the CLI reports it; the socket's permissions make
 * only the owner able to claim anything.
 */
export const SOCKET_NAME = 'dnsward.sock';

export type ControlRequest = (
  | { cmd: 'blocks'; who: string }
  /** The domains under a random-subdomain flood now. */
  | { cmd: 'floods'; who: string }
  | { cmd: 'allow'; who: string; domain?: string; client?: string; seconds: number }
  /** Removes an operator allow (of exactly this domain and client range), e.g. a permanent one. */
  | { cmd: 'disallow'; who: string; domain?: string; client?: string }
  | { cmd: 'unblock'; who: string; domain: string }
  /** Lifts the dynamic blocks on a client address or range (defence.dynamicBlocks). */
  | { cmd: 'unblock-client'; who: string; client: string }
  | { cmd: 'quarantine'; who: string; client: string; seconds: number }
  | { cmd: 'release'; who: string; client: string }
  /** The response-policy feeds: rules, version, last load, last error. */
  | { cmd: 'feeds'; who: string }
  /** Re-reads one feed (or every feed) now; a local file is re-read when it changed. */
  | { cmd: 'feeds-refresh'; who: string; name?: string }
  /** The local allow and deny lists (policy/local-lists.ts). */
  | { cmd: 'lists'; who: string }
  /** Adds a name (and everything under it) to the local allow or deny list, in force at once. */
  | { cmd: 'list-add'; who: string; list: 'allow' | 'deny'; domain: string }
  | { cmd: 'list-remove'; who: string; list: 'allow' | 'deny'; domain: string }
  /** Tunnel Guard in monitor mode for `seconds` (0: back to the configured mode now). */
  | { cmd: 'monitor'; who: string; seconds: number }
) & {
  /** The operator's note on a change, kept in its audit entry (operator-comment.ts bounds it). */
  comment?: string;
};

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };
