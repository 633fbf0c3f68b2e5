/**
 * The defence stage's later parts in a real Pipeline (parse → defence → a stand-in upstream):
 * DNS cookies on the way in and out, BADCOOKIE when enforced, minimal ANY, and response-rate
 * limiting applied to the answer on its way out, with a chosen clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { findOpt } from '../../src/defence/cookie-option.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { QueryContext, type ReplySink, ResponseType, type Transport } from '../../src/pipeline/query-context.js';
import type { Stage } from '../../src/pipeline/stage.js';
import { type DefenceSettings, DefenceStage } from '../../src/pipeline/stages/defence-stage.js';
import { ParseStage } from '../../src/pipeline/stages/parse-stage.js';
import { type ScannedResponse, scanResponse } from '../../src/dns/response-scanner.js';
import { RcodeName } from '../../src/dns/wire.js';

/** dns-packet's types leave ANY out of RecordType; its codec knows it. */
const ANY = 'ANY' as dnsPacket.RecordType;
const SECRET = 'e5e973e5a6b2a43f48e7dc849e37bfcf';
const CLIENT_COOKIE = Buffer.from('2464c4abcf10c957', 'hex');
const UPSTREAM_COOKIE = Buffer.from('2464c4abcf10c957' + 'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb', 'hex');

function settings(over: Partial<DefenceSettings> = {}): DefenceSettings {
  return {
    clientRate: {
      enabled: false,
      rate: 1,
      burst: 1,
      ipv4Prefix: 32,
      ipv6Prefix: 64,
      action: 'drop',
      exempt: [],
      maxTracked: 1000,
    },
    responseRate: {
      enabled: true,
      responsesPerSecond: 2,
      window: 1000,
      slip: 2,
      ipv4Prefix: 24,
      ipv6Prefix: 56,
      exempt: [],
      maxTracked: 1000,
    },
    cookies: { enabled: true, secret: SECRET, enforce: false },
    minimalAny: true,
    ...over,
  };
}

type Option = { code: number; data: Buffer };

function query(name: string, type: dnsPacket.RecordType, id: number, cookie?: Buffer, udpPayloadSize = 1232): Buffer {
  const options: Option[] = cookie === undefined ? [] : [{ code: 10, data: cookie }];
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize, flags: 0, options } as unknown as dnsPacket.Answer],
  });
}

function setup(s: DefenceSettings) {
  const defence = new DefenceStage(s);
  const forwarded: Buffer[] = [];
  /** Stands in for an upstream that answers with a cookie of its own, as a cookie-speaking upstream would. */
  const upstream: Stage = {
    name: 'upstream',
    onQuery: (ctx, pipeline) => {
      forwarded.push(ctx.request);
      const q = dnsPacket.decode(ctx.request);
      const answer = dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
        questions: q.questions,
        answers: q.questions![0].name.startsWith('big.')
          ? // 12 + 20 (question) + 12 + 2 + 430 (TXT) + 11 (OPT) + 28 (upstream cookie): 493 bytes without the upstream's cookie.
            [
              {
                type: 'TXT',
                name: q.questions![0].name,
                ttl: 300,
                data: [Buffer.alloc(200, 0x78), Buffer.alloc(229, 0x79)],
              },
            ]
          : [{ type: 'A', name: q.questions![0].name, ttl: 300, data: '192.0.2.10' }],
        additionals: [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: 1232,
            flags: 0,
            options: [{ code: 10, data: UPSTREAM_COOKIE }],
          } as unknown as dnsPacket.Answer,
        ],
      });
      ctx.scan = scanResponse(answer) as ScannedResponse;
      pipeline.respond(ctx, answer, ResponseType.ANSWERED, 'test upstream');
    },
  };
  const sent: Buffer[] = [];
  let dropped = 0;
  const sink: ReplySink = {
    listenerKey: '127.0.0.1:53',
    send: (_ctx, answer) => sent.push(answer),
    drop: () => dropped++,
  };
  const pipeline = new Pipeline([new ParseStage(), defence, upstream], [], (stage, error) =>
    assert.fail(`${stage}: ${String(error)}`),
  );
  const ask = (request: Buffer, opts: { client?: string; at?: number; transport?: Transport } = {}) => {
    const ctx = new QueryContext(
      request,
      opts.transport ?? 'udp',
      opts.client ?? '198.51.100.100',
      5353,
      sink,
      null,
      opts.at ?? 0,
    );
    const before = sent.length;
    pipeline.start(ctx);
    const raw = sent.length > before ? sent[sent.length - 1] : null;
    return { ctx, raw, answer: raw === null ? null : dnsPacket.decode(raw) };
  };
  return { defence, ask, forwarded, dropped: () => dropped };
}

function cookieOf(answer: dnsPacket.Packet | null): Buffer | undefined {
  const opt = answer?.additionals?.find((r) => r.type === 'OPT') as { options?: Option[] } | undefined;
  return opt?.options?.find((o) => o.code === 10)?.data;
}

describe('DNS cookies in the defence stage', () => {
  it("answers a client cookie with our server cookie in place of the upstream's, and forwards no cookie", () => {
    const { ask, forwarded, defence } = setup(settings());
    const { answer } = ask(query('www.example.test', 'A', 1, CLIENT_COOKIE));
    const cookie = cookieOf(answer)!;
    assert.equal(cookie.length, 24, 'client cookie + a 16-byte server cookie');
    assert.deepEqual(cookie.subarray(0, 8), CLIENT_COOKIE);
    assert.notDeepEqual(cookie, UPSTREAM_COOKIE);
    assert.equal(cookie[8], 1, 'RFC 9018 version 1');
    assert.equal(answer!.answers?.length, 1, 'the answer itself is intact');
    assert.equal(cookieOf(dnsPacket.decode(forwarded[0])), undefined, "the upstream never sees the client's cookie");
    assert.ok(findOpt(forwarded[0]) > 0, 'the OPT record itself is kept');
    assert.deepEqual(defence.counters().cookies.received, { clientOnly: 1, valid: 0, invalid: 0, malformed: 0 });
    assert.equal(defence.counters().cookies.sent, 1);

    // The cookie comes back: valid.
    const again = ask(query('www.example.test', 'A', 2, cookie));
    assert.equal(again.ctx.cookieValid, true);
    assert.equal(cookieOf(again.answer)!.length, 24);
    assert.equal(defence.counters().cookies.received.valid, 1);
    // From another address it is not.
    assert.equal(ask(query('www.example.test', 'A', 3, cookie), { client: '198.51.100.101' }).ctx.cookieValid, false);
    assert.equal(defence.counters().cookies.received.invalid, 1);
  });

  it('keeps cookies made under the previous secret valid after a reload rotates it, not after two', () => {
    const s = settings();
    const { ask, defence } = setup(s);
    const cookie = cookieOf(ask(query('www.example.test', 'A', 1, CLIENT_COOKIE)).answer)!;
    defence.configure({ ...s, cookies: { enabled: true, secret: '00112233445566778899aabbccddeeff', enforce: false } });
    assert.equal(ask(query('www.example.test', 'A', 2, cookie)).ctx.cookieValid, true, 'one rotation: still valid');
    defence.configure({ ...s, cookies: { enabled: true, secret: 'ffeeddccbbaa99887766554433221100', enforce: false } });
    assert.equal(ask(query('www.example.test', 'A', 3, cookie)).ctx.cookieValid, false, 'two rotations: no longer');
  });

  it("gives a client without a cookie no cookie, not even the upstream's", () => {
    const { ask } = setup(settings());
    assert.equal(cookieOf(ask(query('www.example.test', 'A', 1)).answer), undefined);
  });

  it('answers BADCOOKIE with a fresh server cookie to an invalid server cookie only when enforced, and only over UDP', () => {
    const bad = Buffer.concat([CLIENT_COOKIE, Buffer.alloc(16, 7)]);
    const lenient = setup(settings());
    assert.equal(RcodeName[lenient.ask(query('www.example.test', 'A', 1, bad)).raw![3] & 0xf], 'NOERROR');
    const strict = setup(settings({ cookies: { enabled: true, secret: SECRET, enforce: true } }));
    const { raw, answer, ctx } = strict.ask(query('www.example.test', 'A', 1, bad));
    assert.equal(ctx.responseType, ResponseType.BADCOOKIE);
    const opt = findOpt(raw!);
    assert.equal((raw![opt + 5] << 4) | (raw![3] & 0xf), 23, 'BADCOOKIE: extended rcode 23');
    assert.equal(answer!.answers?.length, 0);
    assert.equal(cookieOf(answer)!.length, 24, 'with a server cookie to use next time');
    assert.equal(strict.forwarded.length, 0, 'nothing forwarded');
    assert.equal(strict.defence.counters().cookies.badCookie, 1);
    assert.equal(
      strict.ask(query('www.example.test', 'A', 2, bad), { transport: 'tcp' }).answer!.answers?.length,
      1,
      'TCP is answered',
    );
  });

  it("leaves the cookie off a UDP answer it would push past the client's payload, rather than truncate it", () => {
    const { ask, defence } = setup(settings());
    const { raw, answer } = ask(query('big.example.test', 'TXT', 1, CLIENT_COOKIE, 512));
    assert.ok(
      raw!.length <= 512 && raw!.length + 28 > 512,
      `an answer that fits but not with a cookie (${raw!.length} bytes)`,
    );
    assert.equal(answer!.flag_tc, false);
    assert.equal(answer!.answers?.length, 1);
    assert.equal(cookieOf(answer), undefined, "neither ours nor the upstream's");
    assert.equal(defence.counters().cookies.sent, 0);
    assert.equal(
      cookieOf(ask(query('big.example.test', 'TXT', 2, CLIENT_COOKIE, 1232)).answer)!.length,
      24,
      'with room, it is added',
    );
  });

  it('answers a malformed COOKIE option FORMERR', () => {
    const { ask, defence } = setup(settings());
    assert.equal(RcodeName[ask(query('www.example.test', 'A', 1, Buffer.alloc(5))).raw![3] & 0xf], 'FORMERR');
    assert.equal(defence.counters().cookies.received.malformed, 1);
  });
});

describe('minimal ANY in the defence stage', () => {
  it('answers ANY over UDP with one HINFO "RFC8482" record, without going upstream; over TCP it is forwarded', () => {
    const { ask, forwarded, defence } = setup(settings());
    const { ctx, answer, raw } = ask(query('www.Example.test', ANY, 9));
    assert.equal(ctx.responseType, ResponseType.MINIMAL_ANY);
    assert.equal(answer!.id, 9);
    assert.equal(raw![3] & 0xf, 0);
    assert.equal(answer!.questions![0].name, 'www.Example.test', 'the question as asked');
    assert.equal(answer!.answers?.length, 1);
    const hinfo = answer!.answers![0] as { type: string; name: string; ttl: number; data: { cpu: string; os: string } };
    assert.deepEqual(
      [hinfo.type, hinfo.name, hinfo.ttl, hinfo.data.cpu, hinfo.data.os],
      ['HINFO', 'www.Example.test', 3600, 'RFC8482', ''],
    );
    assert.equal(forwarded.length, 0);
    assert.equal(defence.counters().minimalAny.answered, 1);
    ask(query('www.example.test', ANY, 10), { transport: 'tcp' });
    assert.equal(forwarded.length, 1);
    const off = setup(settings({ minimalAny: false }));
    off.ask(query('www.example.test', ANY, 11));
    assert.equal(off.forwarded.length, 1, 'minimalAny: false forwards ANY');
  });
});

describe('response-rate limiting in the defence stage', () => {
  it('limits identical answers to a prefix: sent, then dropped and slipped (TC=1, no records) in turn; other names, TCP and valid cookies are not limited', () => {
    const { ask, defence, dropped } = setup(settings());
    const kinds: string[] = [];
    for (let id = 1; id <= 6; id++) {
      const { raw, answer, ctx } = ask(query('www.example.test', 'A', id), { client: '192.0.2.1' });
      if (raw === null) kinds.push('drop');
      else if (answer!.flag_tc) {
        assert.equal(answer!.answers?.length, 0);
        assert.equal(ctx.responseType, ResponseType.RESPONSE_RATE_LIMITED);
        kinds.push('tc');
      } else kinds.push('answer');
    }
    assert.deepEqual(kinds, ['answer', 'answer', 'drop', 'tc', 'drop', 'tc']);
    assert.equal(dropped(), 2);
    assert.deepEqual(defence.counters().responseRate.limited, { drop: 2, slip: 2 });
    assert.equal(
      ask(query('other.example.test', 'A', 7), { client: '192.0.2.2' }).answer!.answers?.length,
      1,
      'another response class',
    );
    assert.equal(
      ask(query('www.example.test', 'A', 8), { client: '192.0.2.3', transport: 'tcp' }).answer!.answers?.length,
      1,
      'TCP',
    );
    // A valid server cookie (learned from a slipped reply) is proof enough: never limited.
    // The client is limited now: a dropped query teaches it nothing, the next (slipped) reply does.
    let cookie: Buffer | undefined;
    for (let id = 100; id < 104 && cookie === undefined; id++)
      cookie = cookieOf(ask(query('www.example.test', 'A', id, CLIENT_COOKIE), { client: '192.0.2.1' }).answer);
    assert.ok(cookie !== undefined, 'a slipped reply carries a server cookie');
    for (let id = 10; id < 20; id++)
      assert.equal(
        ask(query('www.example.test', 'A', id, cookie), { client: '192.0.2.1' }).answer!.answers?.length,
        1,
        'a valid cookie',
      );
    assert.equal(defence.counters().responseRate.cookieExempted, 10);
    // A second later the bucket has refilled.
    assert.equal(
      ask(query('www.example.test', 'A', 30), { client: '192.0.2.1', at: 5000 }).answer!.answers?.length,
      1,
      'refilled',
    );
  });
});
