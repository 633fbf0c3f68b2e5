/**
 * Binding a listener with an error an operator can act on. Every listener (DNS, console,
 * metrics) binds through here, so a taken or privileged port reads the same everywhere.
 */

/** A listener that cannot bind says where and why, without a stack trace. */
export class ListenError extends Error {
  readonly code = 'DNSWARD_ERR_LISTEN';
}

export async function listenOrExplain(
  listener: { listen(): Promise<void> },
  address: string,
  transport: string,
): Promise<void> {
  try {
    await listener.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = /EADDRINUSE|in use/i.test(`${e.code} ${e.message}`)
      ? ' (another process has this port)'
      : /EACCES|permission/i.test(`${e.code} ${e.message}`)
        ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
        : '';
    throw new ListenError(`cannot listen on ${address}/${transport}: ${e.message}${hint}`);
  }
}
