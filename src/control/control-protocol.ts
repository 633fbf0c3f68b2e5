/**
 * The local control channel between `dnsward blocks|allow|unblock|quarantine` (and unblock of a
 * client's dynamic block) and a running
 * `dnsward serve`: a Unix socket in the data directory (`dnsward.sock`, mode 0600, so only its
 * owner can connect: that is the authentication), one JSON request per line and one JSON reply
 * per line. `who` is the connecting user as the CLI reports it; the socket's permissions make
 * only the owner able to claim anything.
 */
export const SOCKET_NAME = 'dnsward.sock';

export type ControlRequest =
  | { cmd: 'blocks'; who: string }
  | { cmd: 'allow'; who: string; domain?: string; client?: string; seconds: number }
  | { cmd: 'unblock'; who: string; domain: string }
  /** Lifts the dynamic blocks on a client address or range (defence.dynamicBlocks). */
  | { cmd: 'unblock-client'; who: string; client: string }
  | { cmd: 'quarantine'; who: string; client: string; seconds: number }
  | { cmd: 'release'; who: string; client: string }
  /** Tunnel Guard in monitor mode for `seconds` (0: back to the configured mode now). */
  | { cmd: 'monitor'; who: string; seconds: number };

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };
