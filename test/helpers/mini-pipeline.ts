/**
 * A tiny in-memory pipeline for testing stages alone: the stages under test, then a stand-in
 * upstream answering from a small made-up zone (no sockets), a reply sink that keeps what is
 * sent, and `ask()` returning the reply with its response type and reason.
 */
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { scanResponse } from '../../src/dns/response-scanner.js';
import { RcodeName } from '../../src/dns/wire.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { QueryContext, type ReplySink, ResponseType } from '../../src/pipeline/query-context.js';
import type { PipelineControl, Stage } from '../../src/pipeline/stage.js';
import { encodeQuery } from './packets.js';

/** Answers A for www.* and NXDOMAIN with an SOA for everything else; or holds every query when `hold` is set. */
export class FakeUpstream implements Stage {
  readonly name = 'upstream';
  asked: string[] = [];
  held: Array<() => void> = [];
  hold = false;

  onQuery(ctx: QueryContext, pipeline: PipelineControl): void {
    const q = dnsPacket.decode(ctx.request);
    const name = q.questions![0].name;
    this.asked.push(name);
    const zone = name.split('.').slice(-2).join('.');
    const answerIt = () => {
      const exists = name.startsWith('www.');
      const answer = dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (exists ? 0 : 3),
        questions: q.questions,
        answers: exists ? [{ type: 'A', name, ttl: 300, data: '192.0.2.1' }] : [],
        authorities: exists
          ? []
          : [
              {
                type: 'SOA',
                name: zone,
                ttl: 300,
                data: {
                  mname: `ns.${zone}`,
                  rname: `hostmaster.${zone}`,
                  serial: 1,
                  refresh: 3600,
                  retry: 600,
                  expire: 86400,
                  minimum: 60,
                },
              },
            ],
      });
      const scan = scanResponse(answer);
      ctx.scan = typeof scan === 'string' ? null : scan;
      pipeline.respond(ctx, answer, ResponseType.ANSWERED, 'fake upstream');
    };
    if (this.hold) this.held.push(answerIt);
    else answerIt();
  }
}

export interface Asked {
  ctx: QueryContext;
  rcode: string | null;
  answer: dnsPacket.Packet | null;
}

export function miniPipeline(stages: Stage[], upstream = new FakeUpstream()) {
  const sent: Buffer[] = [];
  const dropped: string[] = [];
  const sink: ReplySink = {
    listenerKey: '127.0.0.1:53',
    send: (_ctx, answer) => sent.push(answer),
    drop: (ctx) => {
      dropped.push(ctx.reason);
    },
  };
  const pipeline = new Pipeline([...stages, upstream], [], (stage, error) => assert.fail(`${stage}: ${String(error)}`));
  const send = (request: Buffer, client = '192.0.2.7'): Asked => {
    const ctx = new QueryContext(request, 'udp', client, 5353, sink, null, 0);
    const before = sent.length;
    pipeline.start(ctx);
    const reply = sent.length > before ? sent[sent.length - 1] : null;
    return {
      ctx,
      rcode: reply === null ? null : RcodeName[reply[3] & 0xf],
      answer: reply === null ? null : dnsPacket.decode(reply),
    };
  };
  const ask = (name: string, type: dnsPacket.RecordType = 'A', client?: string) =>
    send(encodeQuery(name, type, { id: 99, edns: true }), client);
  return { pipeline, upstream, sent, dropped, ask, send };
}
