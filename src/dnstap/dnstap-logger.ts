/**
 * dnstap query and response logging: a pipeline observer that sends a CLIENT_QUERY and a
 * CLIENT_RESPONSE message for each answered query to a dnstap collector over Frame Streams.
 * Blocked and quarantined answers carry a dnstap Policy (type "tunnel-guard"/"quarantine", the
 * reason as rule, the action), so collectors see why dnsward answered as it did.
 * Encoding happens after the reply is sent; frames beyond the writer's bound are dropped and
 * counted, never queued without limit.
 */
import { hostname } from 'node:os';
import type { QueryContext } from '../pipeline/query-context.js';
import type { Observer } from '../pipeline/stage.js';
import { ipBytes } from '../util/ip-bytes.js';
import { type ClientMessage, DnstapType, encodeDnstap, PolicyAction } from './dnstap-message.js';
import { type FrameStreamAddress, FrameStreamWriter } from './frame-stream-writer.js';

export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';

export interface DnstapOptions {
  address: FrameStreamAddress;
  identity?: string;
  version: string;
  logQueries: boolean;
  logResponses: boolean;
  maxBufferedBytes: number;
}

export class DnstapLogger implements Observer {
  readonly name = 'dnstap';
  readonly writer: FrameStreamWriter;
  private readonly identity: Buffer;
  private readonly version: Buffer;
  private readonly origin = performance.timeOrigin;
  private readonly addresses = new Map<string, Buffer | undefined>();

  constructor(
    private readonly options: DnstapOptions,
    onError: (error: Error) => void,
  ) {
    this.writer = new FrameStreamWriter(options.address, DNSTAP_CONTENT_TYPE, options.maxBufferedBytes, onError);
    this.identity = Buffer.from(options.identity ?? hostname());
    this.version = Buffer.from(`dnsward ${options.version}`);
  }

  start(): void {
    this.writer.start();
  }

  observe(ctx: QueryContext): void {
    if (!this.writer.stats.connected) {
      this.writer.stats.dropped +=
        (this.options.logQueries ? 1 : 0) + (this.options.logResponses && ctx.answer !== null ? 1 : 0);
      return;
    }
    const address = this.address(ctx.clientAddress);
    if (address === undefined) return;
    const base: ClientMessage = {
      type: DnstapType.CLIENT_QUERY,
      transport: ctx.transport,
      clientAddress: address,
      clientPort: ctx.clientPort,
      queryTimeMs: this.origin + ctx.startedAt,
    };
    if (this.options.logQueries)
      this.writer.write(encodeDnstap(this.identity, this.version, { ...base, query: ctx.request }));
    if (this.options.logResponses && ctx.answer !== null) {
      const policy =
        ctx.responseType === 'blocked' || ctx.responseType === 'quarantined'
          ? {
              type: ctx.responseType === 'blocked' ? 'tunnel-guard' : 'quarantine',
              rule: ctx.reason,
              action: policyAction(ctx.answer),
            }
          : undefined;
      this.writer.write(
        encodeDnstap(
          this.identity,
          this.version,
          {
            ...base,
            type: DnstapType.CLIENT_RESPONSE,
            responseTimeMs: this.origin + performance.now(),
            response: ctx.answer,
            policy,
          },
          Buffer.from(ctx.responseType),
        ),
      );
    }
  }

  /** Client addresses repeat; their bytes are parsed once (bounded). */
  private address(text: string): Buffer | undefined {
    let b = this.addresses.get(text);
    if (b === undefined && !this.addresses.has(text)) {
      if (this.addresses.size >= 65_536) this.addresses.clear();
      b = ipBytes(text);
      this.addresses.set(text, b);
    }
    return b;
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** dnstap has no REFUSED action: a refused answer's policy carries no action. */
function policyAction(answer: Buffer): number | undefined {
  const rcode = answer[3] & 0xf;
  if (rcode === 3) return PolicyAction.NXDOMAIN;
  if (rcode !== 0) return undefined;
  return answer.readUInt16BE(6) > 0 ? PolicyAction.LOCAL_DATA : PolicyAction.NODATA;
}
