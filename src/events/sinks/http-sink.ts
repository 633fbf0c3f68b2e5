/**
 * Security events over HTTP, for Splunk's HTTP Event Collector, Elasticsearch/OpenSearch `_bulk`
 * (as ECS documents) and generic webhooks. Batches are POSTed off the query path; while the
 * receiver fails, batches wait in a bounded buffer (oldest dropped, counted) and are retried
 * with backoff up to 30 s.
 */
import type { EventSink, SinkStatus } from '../event-bus.js';
import type { SecurityEvent } from '../security-event.js';
import { toEcs } from './ecs.js';
import { toOcsf } from './ocsf.js';

export type HttpSinkKind = 'splunk-hec' | 'elasticsearch' | 'webhook';

export interface HttpSinkOptions {
  kind: HttpSinkKind;
  url: string;
  /** Splunk HEC token, or an Authorization header value for the others. */
  token?: string;
  /** Elasticsearch index. */
  index: string;
  maxBuffered: number;
  timeoutMs: number;
  /** Webhook body: dnsward's JSON ({"events": [...]}) or a JSON array of OCSF events. */
  format?: 'json' | 'ocsf';
}

export class HttpSink implements EventSink {
  readonly name: string;
  dropped = 0;
  sent = 0;
  failures = 0;
  lastError = '';
  private pending: SecurityEvent[] = [];
  private retryMs = 500;
  private retryTimer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;

  constructor(private readonly o: HttpSinkOptions) {
    this.name = `${o.kind}:${o.url}`;
  }

  write(events: SecurityEvent[]): Promise<void> | void {
    this.pending.push(...events);
    if (this.pending.length > this.o.maxBuffered) {
      this.dropped += this.pending.length - this.o.maxBuffered;
      this.pending.splice(0, this.pending.length - this.o.maxBuffered);
    }
    if (this.retryTimer === null) return this.send();
  }

  status(): SinkStatus {
    return {
      name: this.name,
      sent: this.sent,
      dropped: this.dropped,
      buffered: this.pending.length,
      lastError: this.lastError || undefined,
    };
  }

  async close(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.sending;
  }

  private send(): Promise<void> {
    this.sending ??= this.post().finally(() => (this.sending = null));
    return this.sending;
  }

  private async post(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, 500);
      const { body, headers } = this.encode(batch);
      try {
        const response = await fetch(this.o.url, {
          method: 'POST',
          body,
          headers,
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        if (this.o.kind === 'elasticsearch') {
          const result = (await response.json()) as { errors?: boolean };
          if (result.errors) throw new Error('bulk response reports errors');
        }
        this.pending.splice(0, batch.length);
        this.sent += batch.length;
        this.retryMs = 500;
      } catch (err) {
        this.failures++;
        this.lastError = (err as Error).message;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          void this.send();
        }, this.retryMs);
        this.retryTimer.unref();
        this.retryMs = Math.min(30_000, this.retryMs * 2);
        return;
      }
    }
  }

  private encode(batch: SecurityEvent[]): { body: string; headers: Record<string, string> } {
    const auth: Record<string, string> =
      this.o.token === undefined
        ? {}
        : { authorization: this.o.kind === 'splunk-hec' ? `Splunk ${this.o.token}` : this.o.token };
    switch (this.o.kind) {
      case 'splunk-hec':
        // HEC's event endpoint takes concatenated JSON objects, one per event.
        return {
          body: batch
            .map((e) =>
              JSON.stringify({
                time: Date.parse(e.time) / 1000,
                host: e.node,
                source: 'dnsward',
                sourcetype: 'dnsward:security',
                event: e,
              }),
            )
            .join(''),
          headers: { 'content-type': 'application/json', ...auth },
        };
      case 'elasticsearch':
        return {
          body: batch
            .map((e) => `${JSON.stringify({ create: { _index: this.o.index } })}\n${JSON.stringify(toEcs(e))}\n`)
            .join(''),
          headers: { 'content-type': 'application/x-ndjson', ...auth },
        };
      default:
        return {
          body: this.o.format === 'ocsf' ? JSON.stringify(batch.map(toOcsf)) : JSON.stringify({ events: batch }),
          headers: { 'content-type': 'application/json', ...auth },
        };
    }
  }
}
