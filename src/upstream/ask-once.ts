/**
 * One question to one configured upstream, for tools (`dnsward why --resolve`), over the
 * protocol the server itself would use: UDP/TCP through dns/one-query.ts, DoT and DoH through
 * the server's own transports (the same certificate checks), so a tool never asks in a way the
 * server would not.
 */
import { encode } from 'dns-packet';
import { nameToWire } from '../dns/name.js';
import { queryOnce } from '../dns/one-query.js';
import { DNSWARD_UDP_PAYLOAD, Flag, HEADER_LENGTH } from '../dns/wire.js';
import type { HostPort } from '../util/address.js';
import { Exchange } from './exchange.js';
import { Upstream } from './upstream.js';

export interface UpstreamServer {
  address: HostPort;
  protocol: 'udp' | 'tcp' | 'tls' | 'https';
  path?: string;
  tls?: { ca?: string; serverName?: string };
}

export async function askUpstreamOnce(
  server: UpstreamServer,
  name: string,
  qtype: number,
  timeoutMs: number,
): Promise<Buffer> {
  if (server.protocol === 'udp' || server.protocol === 'tcp')
    return queryOnce(server.address, server.protocol, name, qtype, timeoutMs);
  const query = encode({
    type: 'query',
    id: 0,
    flags: Flag.RD,
    // dns-packet names types it does not know UNKNOWN_n.
    questions: [{ name, type: `UNKNOWN_${qtype}` as 'A', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: DNSWARD_UDP_PAYLOAD, flags: 0, options: [] } as never],
  });
  const questionEnd = HEADER_LENGTH + nameToWire(name).length + 4;
  const upstream = new Upstream(
    { ...server, sockets: 1, rotateSocketsAfter: 1_000_000, tcpIdleMs: timeoutMs, maxFailures: 1, native: null },
    () => {},
  );
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const ex = new Exchange(query, questionEnd, (_ex, error, answer) =>
        answer !== null ? resolve(answer) : reject(new Error(error ?? 'no answer')),
      );
      const refused = upstream.send(ex, performance.now(), timeoutMs);
      if (refused !== null) return reject(new Error(refused));
      const timer = setTimeout(() => upstream.sweep(performance.now() + 1), timeoutMs);
      timer.unref();
    });
  } finally {
    upstream.close();
  }
}
