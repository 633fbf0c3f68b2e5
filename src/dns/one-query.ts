/**
 * One query, one answer, for tools (`dnsward why --resolve`), not for the query path: UDP with
 * EDNS (1232 bytes), and the same question again over TCP when the answer comes back truncated
 * or the server is configured for TCP.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { encode } from 'dns-packet';
import type { HostPort } from '../util/address.js';
import { DNSWARD_UDP_PAYLOAD, Flag } from './wire.js';

export async function queryOnce(
  server: HostPort,
  protocol: 'udp' | 'tcp',
  name: string,
  qtype: number,
  timeoutMs: number,
): Promise<Buffer> {
  const id = Math.floor(Math.random() * 0x10000);
  const query = encode({
    type: 'query',
    id,
    flags: Flag.RD,
    // dns-packet names types it does not know UNKNOWN_n.
    questions: [{ name, type: `UNKNOWN_${qtype}` as 'A', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: DNSWARD_UDP_PAYLOAD, flags: 0, options: [] } as never],
  });
  if (protocol === 'udp') {
    const answer = await overUdp(server, query, id, timeoutMs);
    if ((answer[2] & 0x02) === 0) return answer;
  }
  return overTcp(server, query, timeoutMs);
}

function overUdp(server: HostPort, query: Buffer, id: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${server.host} port ${server.port} (UDP) in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error: Error | null, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (error !== null) reject(error);
      else resolve(answer!);
    };
    socket.on('error', (error) => finish(error));
    socket.on('message', (msg) => {
      // Anything but the answer to this query (a late answer, a stray packet) is ignored.
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] & 0x80) !== 0) finish(null, msg);
    });
    socket.send(query, server.port, server.host);
  });
}

function overTcp(server: HostPort, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${server.host} port ${server.port} (TCP) in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error: Error | null, answer?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) reject(error);
      else resolve(answer!);
    };
    socket.on('error', (error) => finish(error));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (data) => {
      chunks.push(data);
      received += data.length;
      if (received < 2) return;
      const all = Buffer.concat(chunks);
      const size = all.readUInt16BE(0);
      if (all.length >= 2 + size) finish(null, all.subarray(2, 2 + size));
    });
    socket.on('end', () =>
      finish(new Error(`${server.host} port ${server.port} closed the TCP connection before answering`)),
    );
  });
}
