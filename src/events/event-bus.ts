/**
 * Between decisions and sinks: a bounded queue, drained off the query path (setImmediate), so a
 * slow or dead sink never slows a query. When the queue is full the oldest event is dropped and
 * counted. Each sink gets every event; a sink that throws is counted, never propagated.
 */
import { LOCAL_NODE, type SecurityEvent } from './security-event.js';

/** What a sink reports about itself, for metrics and status. */
export interface SinkStatus {
  name: string;
  sent: number;
  dropped: number;
  buffered: number;
  connected?: boolean;
  lastError?: string;
}

export interface EventSink {
  readonly name: string;
  status?(): SinkStatus;
  /** Takes a batch; may be async. Must not throw for a delivery failure it can retry itself. */
  write(events: SecurityEvent[]): void | Promise<void>;
  close?(): Promise<void>;
}

const BATCH = 256;

export class EventBus {
  private readonly queue: SecurityEvent[] = [];
  private scheduled = false;
  private draining: Promise<void> | null = null;
  published = 0;
  dropped = 0;
  sinkErrors = 0;

  /** `node`: this node's name in a cluster, put on its own events (those naming another node keep it). */
  constructor(
    private readonly sinks: EventSink[],
    readonly capacity = 10_000,
    private readonly onSinkError: (sink: string, error: unknown) => void = () => {},
    public node?: string,
  ) {}

  /** Adds a sink after start (the console's live fan-out). */
  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  get depth(): number {
    return this.queue.length;
  }

  publish(event: SecurityEvent): void {
    this.published++;
    if (this.node !== undefined && event.node === LOCAL_NODE) event.node = this.node;
    if (this.sinks.length === 0) return;
    if (this.queue.length >= this.capacity) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
    }
  }

  /** Delivers what is queued; resolves when every sink has taken it. One delivery runs at a time, in order. */
  drain(): Promise<void> {
    this.draining ??= this.deliver().finally(() => (this.draining = null));
    return this.draining;
  }

  private async deliver(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, BATCH);
      for (const sink of this.sinks) {
        try {
          await sink.write(batch);
        } catch (error) {
          this.sinkErrors++;
          this.onSinkError(sink.name, error);
        }
      }
    }
  }

  sinkStatus(): SinkStatus[] {
    return this.sinks.flatMap((s) => (s.status ? [s.status()] : []));
  }

  async close(): Promise<void> {
    await this.drain();
    for (const sink of this.sinks) await sink.close?.();
  }
}
