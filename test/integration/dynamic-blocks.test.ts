/**
 * Dynamic blocks (defence.dynamicBlocks) end to end: dnsward from configuration text in front of
 * a real unbound, clients on loopback addresses (127.0.0.x) sending bursts over UDP, the real
 * `dnsward blocks` and `dnsward unblock` executables over the control socket, and the metrics
 * endpoint. As in dnsdist's regression tests, a client sends rate × window + 1 queries and is
 * blocked, another sends rate × window and is not; the block ends after its duration, and an
 * operator lifts one early (`dnsward unblock`, the console). Once inline (threads: 0) and once
 * with two I/O threads; a reload turns it on. Every wait is a bounded poll; no timing is asserted.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { pino } from 'pino';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { ControlServer } from '../../src/control/control-server.js';
import { runCli } from '../helpers/cli.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { encodeQuery } from '../helpers/packets.js';
import { headerReply, udpBurst } from '../helpers/udp-burst.js';
import { UnboundServer } from '../helpers/unbound.js';

const NAME = 'www.example.test';
/** Rule "qps": 5 queries/s over 2 s; "nxd": 3 NXDOMAIN/s over 2 s. */
const QPS_OVER = 5 * 2 + 1;
const NXD_OVER = 3 * 2 + 1;
const EXEMPT = '127.0.0.9';
const REPLY_WAIT_MS = 1500;

interface Reply {
  rcode: number;
  tc: boolean;
  answers: number;
}

/** Sends `count` queries at once from `source` and collects the replies by ID (at most REPLY_WAIT_MS). */
const burst = (
  source: string,
  port: number,
  count: number,
  name: (i: number) => string = () => NAME,
): Promise<Map<number, Reply>> =>
  udpBurst(source, port, count, (id) => encodeQuery(name(id), 'A', { id }), headerReply, REPLY_WAIT_MS);

async function one(source: string, port: number): Promise<Reply | undefined> {
  return (await burst(source, port, 1)).get(1);
}

/**
 * Keeps `source` over the rule's rate (10 queries/s, replies ignored) until stopped, so that its
 * block is extended while the test reads it and cannot end in the middle.
 */
async function keepFlooding(source: string, port: number): Promise<() => Promise<void>> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, source, () => resolve()));
  let id = 0;
  const timer = setInterval(() => socket.send(encodeQuery(NAME, 'A', { id: ++id & 0xffff }), port, '127.0.0.1'), 100);
  return () => {
    clearInterval(timer);
    return new Promise<void>((resolve) => socket.close(() => resolve()));
  };
}

const isAnswer = (r: Reply | undefined) => r !== undefined && r.rcode === 0 && !r.tc && r.answers > 0;

/** Polls `check` every `stepMs` until it holds, at most `tries` times. */
async function waitFor(check: () => boolean | Promise<boolean>, tries = 40, stepMs = 250): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return false;
}

async function scrape(
  dw: RunningDnsward,
  name: string,
): Promise<Array<{ labels?: Record<string, string>; value?: string }>> {
  const text = await (await fetch(`http://127.0.0.1:${dw.metricsServer!.boundPort}/metrics`)).text();
  const families = parsePrometheusTextFormat(text) as Array<{
    name: string;
    metrics: Array<{ labels?: Record<string, string>; value?: string }>;
  }>;
  const family = families.find((f) => f.name === name);
  assert.ok(family, `${name} is exported`);
  return family.metrics;
}

const configText = (unboundPort: number, threads: number) => `
listen: ["127.0.0.1:@PORT@"]
threads: ${threads}
upstreams: { servers: ["127.0.0.1:${unboundPort}"] }
metrics: { listen: "127.0.0.1:0" }
console: { listen: "127.0.0.1:0" }
defence:
  dynamicBlocks:
    enabled: true
    exempt: ["${EXEMPT}"]
    rules:
      - { name: qps, metric: queries, rate: 5, window: 2s, action: refused, duration: 4s }
      - { name: nxd, metric: nxdomain, rate: 3, window: 2s, action: nxdomain, duration: 10m }
`;

describe('dynamic blocks in front of unbound', () => {
  let unbound: UnboundServer;

  before(async () => {
    unbound = await UnboundServer.start({ zones: ['example.test'], records: [`${NAME}. 300 IN A 192.0.2.10`] });
  });
  after(async () => {
    await unbound?.stop();
  });

  for (const threads of [0, 2]) {
    describe(`threads: ${threads}`, () => {
      let dw: RunningDnsward;
      let control: ControlServer;
      before(async () => {
        process.env.DNSWARD_ADMIN_PASSWORD = 'the admin password';
        try {
          dw = await startDnsward(configText(unbound.port, threads));
        } finally {
          delete process.env.DNSWARD_ADMIN_PASSWORD;
        }
        // The control socket `dnsward serve` opens, on this in-process server: the real CLI talks to it.
        control = new ControlServer(dw.dataDir, dw.server, pino({ level: 'silent' }));
        await control.start();
      });
      after(async () => {
        await control?.stop();
        await dw?.stop();
      });

      it("blocks a client that sends rate × window + 1 queries (cache hits) with the rule's action, not one that sends rate × window, and lists, counts and reports it", async () => {
        // The exempt client fills the cache: every query below is a cache hit.
        assert.ok(isAnswer(await one(EXEMPT, dw.port)));
        await dw.server.refresh();
        const cachedBefore = dw.server.snapshot().responseTypes.cached ?? 0;
        const over = await burst('127.0.0.1', dw.port, QPS_OVER);
        // rate × window in all: this burst, and the one query that checks it is still answered.
        const under = await burst('127.0.0.2', dw.port, QPS_OVER - 2);
        assert.equal(
          [...over.values()].filter(isAnswer).length,
          QPS_OVER,
          'the burst itself is answered (the rules are weighed after it)',
        );
        assert.equal([...under.values()].filter(isAnswer).length, QPS_OVER - 2);
        await dw.server.refresh();
        // Each I/O thread has its own cache, and the kernel picks the thread: inline, all were hits.
        if (threads === 0)
          assert.equal(
            (dw.server.snapshot().responseTypes.cached ?? 0) - cachedBefore,
            2 * QPS_OVER - 2,
            'all of them were cache hits',
          );

        assert.ok(
          await waitFor(() => dw.server.snapshot().dynamicBlocks.active === 1),
          'a block starts within a few seconds',
        );
        assert.ok(
          await waitFor(async () => (await one('127.0.0.1', dw.port))?.rcode === 5, 10),
          'the blocked client is answered REFUSED',
        );
        const stopFlood = await keepFlooding('127.0.0.1', dw.port);
        try {
          const other = await one('127.0.0.2', dw.port);
          assert.ok(isAnswer(other), 'the client under the rate is answered');
          await checkListed();
        } finally {
          await stopFlood();
        }
      });

      /** The block of 127.0.0.1 in `dnsward blocks` (text and JSON), the metrics, and the events. */
      const checkListed = async () => {
        const listed = await runCli(['blocks', '--data-dir', dw.dataDir]);
        assert.equal(listed.code, 0, listed.stderr);
        assert.match(listed.stdout, /Dynamic blocks \(1\):\n {2}127\.0\.0\.1\/32 {2}rule qps, refused, since /);
        assert.match(
          listed.stdout,
          /why: client 127\.0\.0\.1\/32 passed dynamic block rule "qps" \(\d+(\.\d)? queries\/s over 2 s, limit 5\): answered REFUSED for 4 s/,
        );
        const json = JSON.parse((await runCli(['blocks', '--data-dir', dw.dataDir, '--json'])).stdout) as {
          dynamic: Array<{ prefix: string; rule: string; action: string; metric: string }>;
        };
        assert.deepEqual(
          json.dynamic.map((d) => [d.prefix, d.rule, d.action, d.metric]),
          [['127.0.0.1/32', 'qps', 'refused', 'queries']],
        );

        assert.deepEqual(
          (await scrape(dw, 'dnsward_dynamic_blocks_active')).map((m) => Number(m.value)),
          [1],
        );
        const blocked = await scrape(dw, 'dnsward_dynamic_blocked_total');
        const refused = blocked.find((m) => m.labels?.rule === 'qps' && m.labels?.action === 'refused');
        assert.ok(
          refused !== undefined && Number(refused.value) >= 1,
          'the REFUSED answers are counted by rule and action',
        );
        assert.ok((dw.server.snapshot().responseTypes['dynamic-blocked'] ?? 0) >= 1);

        assert.ok(
          await waitFor(
            async () => (await dw.server.queryLog.events({ type: ['client_rate_blocked'], limit: 10 })).length > 0,
          ),
          'the block is a security event',
        );
        const [event] = await dw.server.queryLog.events({ type: ['client_rate_blocked'], limit: 10 });
        assert.equal(event.client, '127.0.0.1');
        assert.equal(event.action, 'refused');
        assert.equal(event.stages[0].name, 'defence');
        assert.equal(event.stages[0].evidence.rule, 'qps');
        assert.equal(event.stages[0].evidence.prefix, '127.0.0.1/32');
      };

      it('ends the block after its duration', async () => {
        // Polls at most twice a second: under the rule's rate, so the polling itself does not extend the block.
        assert.ok(
          await waitFor(async () => isAnswer(await one('127.0.0.1', dw.port)), 30, 500),
          'answered again once the block ended',
        );
        // An I/O thread ends a block at its `until` by itself; the main thread's tally follows at its next tick.
        assert.ok(
          await waitFor(() => dw.server.snapshot().dynamicBlocks.active === 0),
          'the block is no longer counted active',
        );
        assert.ok(dw.server.snapshot().dynamicBlocks.expired >= 1);
      });

      it('blocks on the NXDOMAIN rate with its own action, and `dnsward unblock CLIENT` lifts the block early', async () => {
        const nx = await burst('127.0.0.3', dw.port, NXD_OVER, (i) => `missing-${i}.example.test`);
        assert.equal([...nx.values()].filter((r) => r.rcode === 3).length, NXD_OVER, 'unbound answers NXDOMAIN');
        assert.ok(await waitFor(() => dw.server.snapshot().dynamicBlocks.active === 1));
        assert.ok(
          await waitFor(async () => (await one('127.0.0.3', dw.port))?.rcode === 3, 10),
          "a name that exists is answered NXDOMAIN: the rule's action",
        );

        const wrong = await runCli(['unblock', '127.0.0.4', '--data-dir', dw.dataDir]);
        assert.notEqual(wrong.code, 0);
        assert.match(wrong.stderr, /127\.0\.0\.4 has no dynamic block/);
        const lifted = await runCli(['unblock', '127.0.0.3', '--data-dir', dw.dataDir]);
        assert.equal(lifted.code, 0, lifted.stderr);
        assert.match(lifted.stdout, /lifted the dynamic block of 127\.0\.0\.3\/32/);
        assert.equal(dw.server.snapshot().dynamicBlocks.active, 0);
        // The block was for 10 minutes: an answer now is the lift's doing.
        assert.ok(await waitFor(async () => isAnswer(await one('127.0.0.3', dw.port)), 10), 'answered again at once');
        assert.ok(
          dw.server.auditLog(5).some((a) => a.action === 'unblock-client' && a.subject === '127.0.0.3'),
          'the lift is audited',
        );
      });

      it("lists the block on the console's blocks page API and lifts it from the console", async () => {
        const base = `http://127.0.0.1:${dw.consoleServer!.boundPort}`;
        const login = await fetch(`${base}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: 'the admin password' }),
        });
        assert.equal(login.status, 200);
        const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
        const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;

        await burst('127.0.0.6', dw.port, QPS_OVER);
        assert.ok(await waitFor(() => dw.server.snapshot().dynamicBlocks.active === 1));
        const blocks = (await (await fetch(`${base}/api/blocks`, { headers: { cookie } })).json()) as {
          dynamic: Array<{ prefix: string; rule: string; action: string }>;
        };
        assert.deepEqual(
          blocks.dynamic.map((d) => [d.prefix, d.rule, d.action]),
          [['127.0.0.6/32', 'qps', 'refused']],
        );

        const lift = await fetch(`${base}/api/actions/unblock-client`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
          body: JSON.stringify({ client: '127.0.0.0/29' }),
        });
        assert.equal(lift.status, 200);
        assert.deepEqual(
          ((await lift.json()) as { result: { lifted: string[] } }).result.lifted,
          ['127.0.0.6/32'],
          'a range lifts the blocks it holds',
        );
        assert.equal(dw.server.snapshot().dynamicBlocks.active, 0);
        assert.ok(await waitFor(async () => isAnswer(await one('127.0.0.6', dw.port)), 10), 'answered again');
        assert.ok(
          dw.server.auditLog(5).some((a) => a.who === 'admin (console)' && a.action === 'unblock-client'),
          'audited under the console user',
        );
      });

      it('never blocks an exempt client', async () => {
        const replies = await burst(EXEMPT, dw.port, 4 * QPS_OVER);
        assert.equal([...replies.values()].filter(isAnswer).length, 4 * QPS_OVER);
        // Two ticks of the rules pass; the exempt client is still answered.
        await new Promise((r) => setTimeout(r, 2500));
        assert.ok(isAnswer(await one(EXEMPT, dw.port)));
        assert.equal(dw.server.snapshot().dynamicBlocks.active, 0);
        await dw.server.refresh();
        assert.ok(dw.server.snapshot().defence.dynamicBlocks.exempted >= 4 * QPS_OVER);
      });
    });
  }

  it('is off by default, and a reload turns it on (two I/O threads)', async () => {
    const text = configText(unbound.port, 2);
    const off = text.replace('enabled: true', 'enabled: false');
    const dw = await startDnsward(off);
    try {
      await burst('127.0.0.1', dw.port, 3 * QPS_OVER);
      // Two ticks of the rules: nothing is counted, nothing blocked.
      await new Promise((r) => setTimeout(r, 2500));
      assert.ok(isAnswer(await one('127.0.0.1', dw.port)));
      assert.equal(dw.server.snapshot().dynamicBlocks.started, 0);
      const next = {
        ...(parseConfigText(text.replace('@PORT@', String(dw.port)), 'reload') as object),
        dataDir: dw.dataDir,
        console: { listen: null },
        metrics: { listen: null },
        log: { level: 'silent' },
      };
      await dw.server.reload(validateConfig(next, 'reload'));
      await burst('127.0.0.1', dw.port, QPS_OVER);
      assert.ok(await waitFor(async () => (await one('127.0.0.1', dw.port))?.rcode === 5), 'blocked after the reload');
    } finally {
      await dw.stop();
    }
  });
});
