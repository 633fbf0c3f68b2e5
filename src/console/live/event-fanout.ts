/**
 * Security events to the console's live clients: an event sink (fed by the event bus, off the
 * query path) that hands each event to every subscriber. Subscribers are server-sent-event
 * streams; one that falls behind by more than its bound is dropped by its own writer.
 */
import type { EventSink } from '../../events/event-bus.js';
import type { SecurityEvent } from '../../events/security-event.js';

export class EventFanout implements EventSink {
  readonly name = 'console';
  private readonly subscribers = new Set<(e: SecurityEvent) => void>();

  subscribe(fn: (e: SecurityEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  write(events: SecurityEvent[]): void {
    for (const e of events) for (const fn of this.subscribers) fn(e);
  }
}
