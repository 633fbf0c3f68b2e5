/**
 * Security events as JSON lines in a file, rotated by size and, optionally, by age:
 * `events.jsonl` becomes `events.jsonl.1` (and so on, up to `keep`) when it would pass
 * `maxBytes`, or when it was started more than `maxAgeMs` ago.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import type { EventSink, SinkStatus } from '../event-bus.js';
import type { SecurityEvent } from '../security-event.js';
import { type EventFormat, formatEvent } from './event-format.js';

export class JsonlFileSink implements EventSink {
  readonly name: string;
  private size: number;
  private startedAt: number;
  private written = 0;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
    private readonly maxAgeMs: number | null = null,
    private readonly now: () => number = Date.now,
    private readonly format: EventFormat = 'json',
  ) {
    this.name = `jsonl:${path}`;
    const existing = existsSync(path) ? statSync(path) : null;
    this.size = existing?.size ?? 0;
    // A file kept from before a restart is as old as its first write (its birth time where the file system has one).
    this.startedAt = existing === null ? now() : existing.birthtimeMs > 0 ? existing.birthtimeMs : existing.mtimeMs;
  }

  async write(events: SecurityEvent[]): Promise<void> {
    const text = events.map((e) => `${formatEvent(e, this.format)}\n`).join('');
    const tooOld = this.maxAgeMs !== null && this.now() - this.startedAt >= this.maxAgeMs;
    if (this.size > 0 && (this.size + text.length > this.maxBytes || tooOld)) this.rotate();
    this.size += Buffer.byteLength(text);
    await appendFile(this.path, text, { mode: 0o600 });
    this.written += events.length;
  }

  status(): SinkStatus {
    return { name: this.name, sent: this.written, dropped: 0, buffered: 0 };
  }

  private rotate(): void {
    if (existsSync(`${this.path}.${this.keep}`)) rmSync(`${this.path}.${this.keep}`);
    for (let i = this.keep - 1; i >= 1; i--)
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    if (this.keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path);
    this.size = 0;
    this.startedAt = this.now();
  }
}
