/**
 * Serves the control channel (see control-protocol.ts) for one running dnsward, through its
 * ControlBackend. Every change is logged and written to the store's audit table with who and when.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { capConnections, type ConnectionCounters } from '../util/connection-caps.js';
import type { ControlBackend } from './control-backend.js';
import { type ControlReply, type ControlRequest, SOCKET_NAME } from './control-protocol.js';

const MAX_LINE = 64 * 1024;
// The CLI opens one connection per command and closes it after the reply.
const DEFAULT_CAPS = { maxConnections: 16, idleTimeoutMs: 30_000 };

export class ControlServer {
  private server: Server | null = null;
  readonly path: string;
  counters: ConnectionCounters = { refused: 0, idleClosed: 0, evicted: 0 };

  constructor(
    dataDir: string,
    private readonly dnsward: ControlBackend,
    private readonly log: Logger,
    private readonly caps = DEFAULT_CAPS,
  ) {
    this.path = join(dataDir, SOCKET_NAME);
  }

  async start(): Promise<void> {
    if (existsSync(this.path)) unlinkSync(this.path);
    const server = createServer((socket) => {
      let buffered = '';
      socket.setEncoding('utf8');
      let replies = Promise.resolve();
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        if (buffered.length > MAX_LINE) return socket.destroy();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          // Replies in request order, also when a command (a feed refresh) takes time.
          replies = replies.then(async () => {
            const reply = await this.handle(line);
            if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
          });
        }
      });
      socket.on('error', () => socket.destroy());
    });
    // A connection left open and silent is destroyed; past the cap new ones are closed at once.
    this.counters = capConnections(server, {
      maxConnections: this.caps.maxConnections,
      maxPerAddress: this.caps.maxConnections,
      idleTimeoutMs: this.caps.idleTimeoutMs,
    });
    // Created owner-only from the start: no window in which another user could connect.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  async stop(): Promise<void> {
    if (this.server === null) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
    if (existsSync(this.path)) unlinkSync(this.path);
  }

  private async handle(line: string): Promise<ControlReply> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, error: 'not a JSON request' };
    }
    try {
      const result = await this.dnsward.control(request);
      if (request.cmd !== 'blocks' && request.cmd !== 'floods' && request.cmd !== 'feeds' && request.cmd !== 'lists')
        this.log.info({ operator: request.who, change: request, result }, 'operator change');
      return { ok: true, result };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
}
