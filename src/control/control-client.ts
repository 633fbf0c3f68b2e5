/** The CLI side of the control channel: one request, one reply, bounded by a timeout. */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { type ControlReply, type ControlRequest, SOCKET_NAME } from './control-protocol.js';

export class ControlError extends Error {}

type WithoutWho<T> = T extends unknown ? Omit<T, 'who'> : never;

export function operatorName(): string {
  const u = userInfo();
  return `${u.username} (uid ${u.uid})`;
}

export async function sendControl(
  dataDir: string,
  request: WithoutWho<ControlRequest>,
  timeoutMs = 5000,
): Promise<unknown> {
  const path = join(dataDir, SOCKET_NAME);
  if (!existsSync(path))
    throw new ControlError(
      `no running dnsward found: ${path} does not exist (is dnsward serve running with --data-dir ${dataDir}?)`,
    );
  const reply = await new Promise<ControlReply>((resolve, reject) => {
    const socket = connect(path);
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ControlError(`dnsward at ${path} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ ...request, who: operatorName() })}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(buffered.slice(0, nl)) as ControlReply);
      } catch {
        reject(new ControlError('dnsward sent a reply that is not JSON'));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new ControlError(`cannot talk to dnsward at ${path}: ${err.message}`));
    });
  });
  if (!reply.ok) throw new ControlError(reply.error);
  return reply.result;
}
