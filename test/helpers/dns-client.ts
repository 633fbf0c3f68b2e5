/** Real DNS clients for tests: dig and kdig from Debian, plus a raw UDP/TCP client for odd packets. */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import { buildProbe } from '../../src/upstream/health-checker.js';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answers: string[];
  raw: string;
}

export function parseDig(raw: string): DigResult {
  const status = /status: (\w+)/.exec(raw)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([^;]*);/.exec(raw)?.[1] ?? '').trim().split(/\s+/);
  const answerSection = /;; ANSWER SECTION:\n([\s\S]*?)(\n\n|$)/.exec(raw)?.[1] ?? '';
  const answers = answerSection.split('\n').filter((l) => l.trim() && !l.startsWith(';'));
  return { status, flags, answers, raw };
}

export async function dig(server: string, port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=3', ...args], {
    timeout: 15_000,
  });
  return parseDig(stdout);
}

export async function kdig(server: string, port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await run('kdig', [`@${server}`, '-p', String(port), '+retry=0', '+time=3', ...args], {
    timeout: 15_000,
  });
  return parseDig(stdout);
}

/** Sends one raw datagram; resolves with the reply, or null after `timeoutMs`. */
export function udpExchange(host: string, port: number, payload: Buffer, timeoutMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(null);
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(payload, port, host);
  });
}

/** Waits (by default at most 50 tries, ~5 s) until something answers DNS on host:port. */
export async function waitForDns(host: string, port: number, tries = 50): Promise<void> {
  const probe = buildProbe('.', 2);
  for (let i = 0; i < tries; i++) {
    if (await udpExchange(host, port, probe, 100)) return;
  }
  throw new Error(`nothing answered DNS on ${host}:${port}`);
}

/** Opens a TCP connection, writes all `messages` in one go, and collects `expect` framed answers. */
export function tcpPipeline(
  host: string,
  port: number,
  messages: Buffer[],
  expect: number,
  timeoutMs = 5000,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const answers: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${answers.length} of ${expect} TCP answers within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () =>
      socket.write(
        Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))),
      ),
    );
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const n = buffered.readUInt16BE(0);
        answers.push(buffered.subarray(2, 2 + n));
        buffered = buffered.subarray(2 + n);
      }
      if (answers.length >= expect) {
        clearTimeout(timer);
        socket.end();
        resolve(answers);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A UDP socket bound to `address` (a loopback address standing for one client) on a free port. */
export async function boundUdpSocket(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  return socket;
}
