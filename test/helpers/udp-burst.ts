/**
 * A burst of UDP queries sent at once from one loopback source address, and the replies
 * collected by ID: the shape every rate-limit test needs. Waits until every query has a reply or
 * `waitMs` has passed; what has not come by then was dropped.
 */
import dgram from 'node:dgram';

/** Sends `queries(id)` for ids 1..count from `source` to `port`; each reply is read by `read`. */
export function udpBurst<R>(
  source: string,
  port: number,
  count: number,
  query: (id: number) => Buffer,
  read: (msg: Buffer) => R,
  waitMs = 1500,
): Promise<Map<number, R>> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const replies = new Map<number, R>();
    const done = () => {
      clearTimeout(timer);
      socket.close();
      resolve(replies);
    };
    const timer = setTimeout(done, waitMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.on('message', (msg) => {
      replies.set(msg.readUInt16BE(0), read(msg));
      if (replies.size === count) done();
    });
    socket.bind(0, source, () => {
      for (let id = 1; id <= count; id++) socket.send(query(id), port, '127.0.0.1');
    });
  });
}

/** The header's rcode, TC bit and answer count. */
export function headerReply(msg: Buffer): { rcode: number; tc: boolean; answers: number } {
  return { rcode: msg[3] & 0xf, tc: (msg[2] & 0x02) !== 0, answers: msg.readUInt16BE(6) };
}
