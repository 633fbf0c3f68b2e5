/**
 * Response-rate limiting, DNS cookies and minimal ANY end to end: dnsward from configuration
 * text in front of a real unbound, asked by loopback clients and by the real dig. Every burst is
 * 40 identical queries sent at once at a limit of 5 identical answers a second, so whatever the
 * machine's speed most of the burst is limited; what is checked is that the replies the client
 * saw match the slip ratio and dnsward's counters (no timing is asserted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { dig, tcpPipeline } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { udpBurst } from '../helpers/udp-burst.js';
import { UnboundServer } from '../helpers/unbound.js';

const RATE = 5;
const BURST = 40;
const NAME = 'www.example.test';
/** Long enough for every answer on loopback; what has not come by then was dropped. */
const REPLY_WAIT_MS = 1500;
const CLIENT_COOKIE = Buffer.from('0123456789abcdef', 'hex');

interface Reply {
  rcode: number;
  tc: boolean;
  answers: number;
  cookie: Buffer | undefined;
}

function query(id: number, cookie?: Buffer, type = 'A'): Buffer {
  const options = cookie === undefined ? [] : [{ code: 10, data: cookie }];
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as dnsPacket.RecordType, name: NAME, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as unknown as dnsPacket.Answer],
  });
}

/** Sends `count` queries at once from `source` and collects the replies by ID, waiting at most REPLY_WAIT_MS. */
const burst = (source: string, port: number, count: number, cookie?: Buffer): Promise<Map<number, Reply>> =>
  udpBurst(
    source,
    port,
    count,
    (id) => query(id, cookie),
    (msg) => {
      const p = dnsPacket.decode(msg);
      const opt = p.additionals?.find((r) => r.type === 'OPT') as
        { options?: Array<{ code: number; data: Buffer }> } | undefined;
      return {
        rcode: msg[3] & 0xf,
        tc: (msg[2] & 0x02) !== 0,
        answers: p.answers?.length ?? 0,
        cookie: opt?.options?.find((o) => o.code === 10)?.data,
      };
    },
    REPLY_WAIT_MS,
  );

const isAnswer = (r: Reply) => r.rcode === 0 && !r.tc && r.answers > 0;

async function scrape(dw: RunningDnsward, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${dw.metricsServer!.boundPort}/metrics`)).text();
  const families = parsePrometheusTextFormat(text) as Array<{
    name: string;
    metrics: Array<{ labels?: Record<string, string>; value?: string }>;
  }>;
  const family = families.find((f) => f.name === name);
  assert.ok(family, `${name} is exported`);
  return Object.fromEntries(family.metrics.map((m) => [Object.values(m.labels ?? {})[0] ?? '', Number(m.value)]));
}

describe('response-rate limiting, DNS cookies and minimal ANY in front of unbound', () => {
  let unbound: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    unbound = await UnboundServer.start({
      zones: ['example.test'],
      records: [`${NAME}. 300 IN A 192.0.2.10`, `${NAME}. 300 IN TXT "hello"`],
    });
    dw = await startDnsward(configText());
  });
  const configText = () => `
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"], healthCheck: { interval: 0 } }
metrics: { listen: "127.0.0.1:0" }
defence:
  responseRate: { enabled: true, responsesPerSecond: ${RATE}, window: 15s, slip: 2, ipv4Prefix: 32, exempt: ["127.0.0.3"] }
`;
  after(async () => {
    await dw?.stop();
    await unbound?.stop();
  });

  it('answers a burst of identical queries up to the rate, then drops and slips (TC=1) every second one, cache hits included', async () => {
    // The exempt client fills the cache: every answer in the burst is then a cache hit.
    assert.ok(isAnswer((await burst('127.0.0.3', dw.port, 1)).get(1)!));
    const hitsBefore = dw.server.snapshot().cache.hits;
    const replies = await burst('127.0.0.1', dw.port, BURST);
    const all = [...replies.values()];
    const answered = all.filter(isAnswer).length;
    const slipped = all.filter((r) => r.tc).length;
    const dropped = BURST - replies.size;
    for (const r of all) if (r.tc) assert.equal(r.answers, 0, 'a slipped reply carries no records');
    assert.ok(answered >= RATE, `the first ${RATE} are answered (got ${answered})`);
    assert.ok(dropped > 0 && slipped > 0, `limited: dropped ${dropped}, slipped ${slipped}`);
    assert.equal(answered + slipped + dropped, BURST);
    assert.equal(slipped, Math.floor((slipped + dropped) / 2), 'slip 2: every second limited answer is sent TC=1');
    const s = dw.server.snapshot();
    assert.deepEqual(s.defence.responseRate.limited, { drop: dropped, slip: slipped });
    assert.equal(s.defence.responseRate.exempted, 1);
    assert.equal(s.cache.hits - hitsBefore, BURST, 'every query was a cache hit: limiting applies to cached answers');
    assert.deepEqual(await scrape(dw, 'dnsward_response_rate_limited_total'), { drop: dropped, slip: slipped });
  });

  it('does not limit the same client once it shows a valid server cookie, learned from a reply', async () => {
    // The client is limited now (its debt lasts the 15 s window): a dropped query teaches it
    // nothing, a slipped one carries the server cookie. Bounded: four tries.
    let cookie: Buffer | undefined;
    for (let i = 0; i < 4 && cookie === undefined; i++)
      cookie = (await burst('127.0.0.1', dw.port, 1, CLIENT_COOKIE)).get(1)?.cookie;
    assert.ok(cookie !== undefined, 'a reply carries a server cookie');
    assert.equal(cookie.length, 24);
    assert.deepEqual(cookie.subarray(0, 8), CLIENT_COOKIE);
    const before = dw.server.snapshot().defence;
    const replies = await burst('127.0.0.1', dw.port, BURST, cookie);
    assert.equal([...replies.values()].filter(isAnswer).length, BURST, 'every query answered');
    for (const r of replies.values())
      assert.deepEqual(
        r.cookie?.subarray(0, 8),
        CLIENT_COOKIE,
        "each answer carries the client's cookie back with ours",
      );
    const after = dw.server.snapshot().defence;
    assert.equal(after.responseRate.cookieExempted - before.responseRate.cookieExempted, BURST);
    assert.deepEqual(after.responseRate.limited, before.responseRate.limited);
    assert.equal(after.cookies.received.valid - before.cookies.received.valid, BURST);
    // Without the cookie it is still limited.
    const plain = await burst('127.0.0.1', dw.port, 4);
    assert.ok([...plain.values()].filter(isAnswer).length < 4);
  });

  it('never limits TCP', async () => {
    const before = dw.server.snapshot().defence.responseRate.limited;
    const answers = await tcpPipeline(
      '127.0.0.1',
      dw.port,
      Array.from({ length: BURST }, (_, i) => query(1000 + i)),
      BURST,
    );
    assert.equal(answers.length, BURST);
    for (const a of answers) assert.equal(dnsPacket.decode(a).answers?.length, 1);
    assert.deepEqual(dw.server.snapshot().defence.responseRate.limited, before);
  });

  it('keeps a cookie valid across one reload (an unset secret is made anew at each), not two', async () => {
    const reload = async () => {
      const text = configText()
        .replace('@PORT@', String(dw.port))
        .replace('127.0.0.1:0', `127.0.0.1:${dw.metricsServer!.boundPort}`);
      await dw.server.reload(
        validateConfig(
          {
            ...(parseConfigText(text, 'reload') as object),
            dataDir: dw.dataDir,
            console: { listen: null },
            threads: 0,
            log: { level: 'silent' },
          },
          'reload',
        ),
      );
    };
    const valid = () => dw.server.snapshot().defence.cookies.received.valid;
    const cookie = (await burst('127.0.0.6', dw.port, 1, CLIENT_COOKIE)).get(1)?.cookie;
    assert.ok(cookie !== undefined);
    await reload();
    let before = valid();
    assert.ok(isAnswer((await burst('127.0.0.6', dw.port, 1, cookie)).get(1)!));
    assert.equal(valid(), before + 1, 'valid after one rotation');
    await reload();
    before = valid();
    const reply = (await burst('127.0.0.6', dw.port, 1, cookie)).get(1)!;
    assert.equal(valid(), before, 'not valid after two');
    assert.notDeepEqual(reply.cookie, cookie, 'the answer carries a fresh server cookie');
  });

  it('gives dig +cookie a server cookie', async () => {
    // From another loopback address, whose bucket is full.
    const r = await dig('127.0.0.1', dw.port, ['-b', '127.0.0.4', '+cookie', NAME, 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.answers.length, 1);
    const cookie = /COOKIE: ([0-9a-f]+)/.exec(r.raw)?.[1];
    assert.ok(cookie !== undefined, `dig shows a COOKIE:\n${r.raw}`);
    assert.equal(cookie.length, 48, 'an 8-byte client cookie and a 16-byte server cookie');
    assert.equal(cookie.slice(16, 18), '01', 'RFC 9018 version 1');
    assert.doesNotMatch(r.raw, /COOKIE: .*\(bad\)/);
  });

  it('answers ANY over UDP with one HINFO "RFC8482" record, and nothing reaches the upstream for it; ANY over TCP is forwarded', async () => {
    const upstreamBefore = dw.server.snapshot().upstreams.reduce((n, u) => n + u.queries, 0);
    // dig asks ANY over TCP unless told otherwise.
    const r = await dig('127.0.0.1', dw.port, ['-b', '127.0.0.5', '+notcp', NAME, 'ANY']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.answers.length, 1, r.raw);
    assert.match(r.answers[0], /\bHINFO\s+"RFC8482"\s+""/);
    const s = dw.server.snapshot();
    assert.equal(
      s.upstreams.reduce((n, u) => n + u.queries, 0),
      upstreamBefore,
      'no upstream query',
    );
    assert.equal(s.defence.minimalAny.answered, 1);
    assert.equal(s.responseTypes['minimal-any'], 1);
    assert.deepEqual(await scrape(dw, 'dnsward_minimal_any_total'), { '': 1 });
    // Over TCP (dig's default for ANY) it is forwarded as usual.
    const tcp = await dig('127.0.0.1', dw.port, ['-b', '127.0.0.5', NAME, 'ANY']);
    assert.doesNotMatch(tcp.raw, /RFC8482/);
    assert.equal(
      dw.server.snapshot().upstreams.reduce((n, u) => n + u.queries, 0),
      upstreamBefore + 1,
      'the TCP ANY went upstream',
    );
  });
});

describe('DNS cookies with I/O threads', () => {
  it('accepts on every thread a server cookie minted by any one: the random secret is made once and shared', async () => {
    const unbound = await UnboundServer.start({ zones: ['example.test'], records: [`${NAME}. 300 IN A 192.0.2.10`] });
    const dw = await startDnsward(`
listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${unbound.port}"], healthCheck: { interval: 0 } }
threads: 2
defence: { cookies: { enforce: true } }
`);
    try {
      const cookie = (await burst('127.0.0.1', dw.port, 1, CLIENT_COOKIE)).get(1)?.cookie;
      assert.ok(cookie !== undefined);
      // Each burst comes from a new socket (a new source port), which SO_REUSEPORT spreads over the threads.
      const TRIES = 12;
      // enforce: an invalid cookie would be answered BADCOOKIE, so each answer proves the cookie valid on its thread.
      for (let i = 0; i < TRIES; i++) assert.ok(isAnswer((await burst('127.0.0.1', dw.port, 1, cookie)).get(1)!));
      // The threads report their counters every so often: wait for them, at most 50 × 100 ms.
      let received = dw.server.snapshot().defence.cookies.received;
      for (let i = 0; i < 50 && received.valid < TRIES; i++) {
        await new Promise((r) => setTimeout(r, 100));
        received = dw.server.snapshot().defence.cookies.received;
      }
      assert.deepEqual(received, { clientOnly: 1, valid: TRIES, invalid: 0, malformed: 0 });
    } finally {
      await dw.stop();
      await unbound.stop();
    }
  });
});
