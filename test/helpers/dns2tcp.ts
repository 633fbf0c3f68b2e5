/**
 * A real dns2tcp tunnel for the tests (Debian's dns2tcpd and dns2tcpc): the server in the lab's
 * "server" namespace on port 53 (dns2tcp insists on it) with an echo resource, the client in
 * "client", resolving through whatever listens on the client's root address.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsLab } from './netns.js';

const ECHO_PORT = 7777;

export async function startDns2tcpServer(lab: NetnsLab, dir: string, zone: string): Promise<void> {
  const server = lab.ns('server');
  writeFileSync(
    join(dir, 'dns2tcpd.conf'),
    [
      `listen = ${server.address}`,
      'port = 53',
      'user = nobody',
      `chroot = ${dir}`,
      `domain = ${zone}`,
      `resources = echo:127.0.0.1:${ECHO_PORT}`,
    ].join('\n') + '\n',
  );
  await lab.startEchoServer('server', '127.0.0.1', ECHO_PORT);
  const dns2tcpd = lab.spawn('server', 'dns2tcpd', ['-F', '-d', '1', '-f', join(dir, 'dns2tcpd.conf')]);
  await NetnsLab.waitForOutput(dns2tcpd, 'Listening on');
}

/** Runs the dns2tcp client and a 4 KB echo through it; returns what the echo said ('echo intact' when it worked). */
export async function dns2tcpEcho(lab: NetnsLab, zone: string, localPort: number): Promise<string> {
  const client = lab.ns('client');
  const tunnel = lab.spawn('client', 'dns2tcpc', [
    '-z',
    zone,
    '-r',
    'echo',
    '-l',
    String(localPort),
    client.rootAddress,
  ]);
  try {
    await NetnsLab.waitForOutput(tunnel, 'Listening on port');
    return await lab.echoTransfer('client', '127.0.0.1', localPort, 4096);
  } catch (err) {
    return `failed: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    tunnel.kill('SIGKILL');
  }
}

/**
 * Where a tunnel must pass: dns2tcp has no integrity check and gives up on a slow resolver, so
 * on a loaded machine one transfer can come back corrupted or reset though every query was
 * answered. A failed transfer gets one more try on a fresh tunnel (localPort + 100), which must
 * itself come back intact: a blocked tunnel cannot pass this way.
 */
export async function dns2tcpEchoPasses(lab: NetnsLab, zone: string, localPort: number): Promise<string> {
  const first = await dns2tcpEcho(lab, zone, localPort);
  return first === 'echo intact' ? first : dns2tcpEcho(lab, zone, localPort + 100);
}
