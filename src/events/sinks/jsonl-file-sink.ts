/**
 * Security events as JSON lines in a file, rotated by size: `events.jsonl` becomes
 * `events.jsonl.1` (and so on, up to `keep`) when it would pass `maxBytes`.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import type { EventSink } from '../event-bus.js';
import type { SecurityEvent } from '../security-event.js';

export class JsonlFileSink implements EventSink {
  readonly name: string;
  private size: number;

  constructor(private readonly path: string, private readonly maxBytes: number, private readonly keep: number) {
    this.name = `jsonl:${path}`;
    this.size = existsSync(path) ? statSync(path).size : 0;
  }

  async write(events: SecurityEvent[]): Promise<void> {
    const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
    if (this.size > 0 && this.size + text.length > this.maxBytes) this.rotate();
    this.size += Buffer.byteLength(text);
    await appendFile(this.path, text);
  }

  private rotate(): void {
    if (existsSync(`${this.path}.${this.keep}`)) rmSync(`${this.path}.${this.keep}`);
    for (let i = this.keep - 1; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    if (this.keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path);
    this.size = 0;
  }
}
