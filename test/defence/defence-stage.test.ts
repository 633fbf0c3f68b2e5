/**
 * The defence stage in a real Pipeline (parse → defence → a stage that answers every query),
 * fed QueryContexts with chosen arrival times: what a limited query gets back for each action,
 * that TCP is never limited, and what the trace and counters say.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { QueryContext, type ReplySink, ResponseType, type Transport } from '../../src/pipeline/query-context.js';
import type { Stage } from '../../src/pipeline/stage.js';
import { type ClientRateSettings, DefenceStage } from '../../src/pipeline/stages/defence-stage.js';
import { ParseStage } from '../../src/pipeline/stages/parse-stage.js';
import { buildRcodeReply } from '../../src/dns/reply.js';
import { RcodeName } from '../../src/dns/wire.js';
import { encodeQuery } from '../helpers/packets.js';

const SETTINGS: ClientRateSettings = {
  enabled: true,
  rate: 1,
  burst: 2,
  ipv4Prefix: 32,
  ipv6Prefix: 64,
  action: 'refused',
  exempt: [],
  maxTracked: 1000,
};

/** Answers every query that reaches it NOERROR, standing in for the cache and the upstreams. */
const answerer: Stage = {
  name: 'answer',
  onQuery: (ctx, pipeline) =>
    pipeline.respond(
      ctx,
      buildRcodeReply(ctx.request, ctx.query, 0, { withQuestion: true }),
      ResponseType.ANSWERED,
      'test answer',
    ),
};

function setup(settings: ClientRateSettings) {
  const defence = new DefenceStage({ clientRate: settings });
  const sent: Buffer[] = [];
  let dropped = 0;
  const sink: ReplySink = {
    listenerKey: '127.0.0.1:53',
    send: (_ctx, answer) => sent.push(answer),
    drop: () => dropped++,
  };
  const pipeline = new Pipeline([new ParseStage(), defence, answerer], [], (stage, error) =>
    assert.fail(`${stage}: ${String(error)}`),
  );
  const query = (client: string, at: number, transport: Transport = 'udp') => {
    const ctx = new QueryContext(
      encodeQuery('www.example.test', 'A', { id: 4242, edns: true }),
      transport,
      client,
      5353,
      sink,
      null,
      at,
    );
    const before = sent.length;
    pipeline.start(ctx);
    const reply = sent.length > before ? sent[sent.length - 1] : null;
    return {
      ctx,
      answer: reply === null ? null : dnsPacket.decode(reply),
      rcode: reply === null ? null : RcodeName[reply[3] & 0xf],
    };
  };
  return { defence, query, dropped: () => dropped };
}

describe('defence stage', () => {
  it('answers a UDP query over the limit REFUSED, echoing the question, with type rate-limited, a trace and a reason', () => {
    const { defence, query } = setup(SETTINGS);
    assert.equal(query('192.0.2.1', 0).rcode, 'NOERROR');
    assert.equal(query('192.0.2.1', 0).rcode, 'NOERROR');
    const { ctx, answer, rcode } = query('192.0.2.1', 0);
    assert.equal(rcode, 'REFUSED');
    assert.equal(answer?.id, 4242);
    assert.equal(answer?.questions?.[0].name, 'www.example.test');
    assert.equal(answer?.additionals?.find((r) => r.type === 'OPT') !== undefined, true, 'EDNS query: EDNS answer');
    assert.deepEqual((answer?.additionals?.[0] as { options?: unknown[] }).options, [], 'no Extended DNS Error');
    assert.equal(ctx.responseType, ResponseType.RATE_LIMITED);
    assert.match(ctx.reason, /rate limit \(1\/s, burst 2.*answered REFUSED/);
    assert.equal(ctx.trace?.[0].stage, 'defence');
    assert.equal(ctx.trace?.[0].verdict, 'rate-limited:refused');
    assert.equal(defence.counters().clientRate.limited.refused, 1);
    // A second later one token is back.
    assert.equal(query('192.0.2.1', 1000).rcode, 'NOERROR');
  });

  it('answers TC=1 with no records under action truncate', () => {
    const { defence, query } = setup({ ...SETTINGS, action: 'truncate' });
    query('192.0.2.1', 0);
    query('192.0.2.1', 0);
    const { ctx, answer, rcode } = query('192.0.2.1', 0);
    assert.equal(rcode, 'NOERROR');
    assert.ok(answer?.flag_tc, 'TC set');
    assert.equal(answer?.answers?.length, 0);
    assert.equal(ctx.responseType, ResponseType.RATE_LIMITED);
    assert.deepEqual(defence.counters().clientRate.limited, { drop: 0, refused: 0, truncate: 1 });
  });

  it('sends nothing under action drop, and still says rate-limited', () => {
    const t = setup({ ...SETTINGS, action: 'drop' });
    t.query('192.0.2.1', 0);
    t.query('192.0.2.1', 0);
    const { ctx, answer } = t.query('192.0.2.1', 0);
    assert.equal(answer, null);
    assert.equal(t.dropped(), 1);
    assert.equal(ctx.responseType, ResponseType.RATE_LIMITED);
    assert.equal(t.defence.counters().clientRate.limited.drop, 1);
  });

  it("never limits TCP, and TCP queries take no token from the client's UDP bucket", () => {
    const { defence, query } = setup(SETTINGS);
    for (let i = 0; i < 50; i++) assert.equal(query('192.0.2.1', 0, 'tcp').rcode, 'NOERROR');
    assert.equal(query('192.0.2.1', 0).rcode, 'NOERROR');
    assert.equal(defence.counters().clientRate.tracked, 1);
  });

  it('passes everything when disabled, and a reload turns it on with the buckets it had', () => {
    const { defence, query } = setup({ ...SETTINGS, enabled: false });
    for (let i = 0; i < 50; i++) assert.equal(query('192.0.2.1', 0).rcode, 'NOERROR');
    assert.equal(defence.counters().clientRate.tracked, 0, 'disabled: no bucket kept');
    defence.configure({ clientRate: SETTINGS });
    assert.equal(query('192.0.2.1', 0).rcode, 'NOERROR');
    assert.equal(query('192.0.2.1', 0).rcode, 'NOERROR');
    assert.equal(query('192.0.2.1', 0).rcode, 'REFUSED');
    assert.equal(defence.counters().clientRate.enabled, true);
  });

  it('leaves malformed queries to parse (FORMERR there, no token taken)', () => {
    const { defence } = setup(SETTINGS);
    const sent: Buffer[] = [];
    const sink: ReplySink = { listenerKey: '127.0.0.1:53', send: (_c, a) => sent.push(a), drop: () => {} };
    const pipeline = new Pipeline([new ParseStage(), defence, answerer], [], () => {});
    const bad = encodeQuery('www.example.test').subarray(0, 14);
    for (let i = 0; i < 5; i++) pipeline.start(new QueryContext(bad, 'udp', '192.0.2.1', 5353, sink, null, 0));
    assert.equal(defence.counters().clientRate.tracked, 0);
  });
});
