/**
 * Response policy end to end: the same RPZ zone loaded by dnsward and by a real unbound (both
 * forwarding to one origin unbound) gives the same answers; client groups get their own feeds,
 * allowlists and monitor mode; a feed refreshes from a local HTTP server with conditional
 * requests and keeps its last good version when an update is corrupt; blocks carry an EDE
 * naming the feed and rule; the DoH canary; `dnsward why`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode, encode, type Answer } from 'dns-packet';
import { parseConfigText, validateConfig } from '../../src/config/load-config.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { dig, udpExchange } from '../helpers/dns-client.js';
import { type RunningDnsward, startDnsward } from '../helpers/dnsward.js';
import { UnboundServer } from '../helpers/unbound.js';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-policy-'));
const RPZ_FILE = join(dir, 'rpz.zone');
writeFileSync(
  RPZ_FILE,
  `$TTL 300
@ IN SOA localhost. admin.localhost. ( 7 3600 600 86400 60 )
  IN NS localhost.
evil.example        CNAME .
*.evil.example      CNAME .
fine.evil.example   CNAME rpz-passthru.
nodata.example      CNAME *.
*.nodata.example    CNAME *.
garden.example      A 192.0.2.80
garden.example      AAAA 2001:db8::80
garden.example      TXT "walled garden"
*.garden.example    A 192.0.2.81
drop.example        CNAME rpz-drop.
32.5.2.0.192.rpz-ip CNAME .
31.8.2.0.192.rpz-ip CNAME *.
32.9.0.0.127.rpz-client-ip  CNAME .
32.10.0.0.127.rpz-client-ip CNAME rpz-passthru.
32.7.2.0.192.rpz-ip A 192.0.2.99
redirect.example    CNAME ok.example.
*.redirect.example  CNAME walled.example.
badredirect.example CNAME www.evil.example.
ipredirect.example  CNAME www.ok.example.
32.77.2.0.192.rpz-ip CNAME ok.example.
`,
);
const ORIGIN_RECORDS = [
  'fine.evil.example.',
  'ok.example.',
  'evil.example.',
  'garden.example.',
  'www.ok.example.',
  'x.garden.example.',
  'adult.example.',
  'ads.example.',
  'www.adult.example.',
  'walled.example.',
]
  .map((n, i) => `${n} 300 IN A 192.0.2.${i + 1}`)
  .concat([
    'cdn.example. 300 IN A 192.0.2.77',
    'alias.example. 300 IN CNAME www.evil.example.',
    'www.evil.example. 300 IN A 192.0.2.66',
  ]);

async function ask(port: number, name: string, type: string): Promise<{ rcode: string; answers: string[] } | null> {
  const query = encode({
    type: 'query',
    id: 4242,
    flags: 0x0100,
    questions: [{ name, type: type as 'A', class: 'IN' }],
  });
  const reply = await udpExchange('127.0.0.1', port, query, 1500);
  if (reply === null) return null;
  const p = decode(reply);
  const data = (a: Answer) =>
    'data' in a
      ? Array.isArray(a.data)
        ? a.data.map(String).join('')
        : Buffer.isBuffer(a.data)
          ? a.data.toString()
          : String(a.data)
      : '';
  return {
    rcode: (p as { rcode?: string }).rcode ?? 'NOERROR',
    answers: (p.answers ?? []).map((a) => `${a.name.toLowerCase()} ${a.type} ${data(a)}`).sort(),
  };
}

describe('RPZ: dnsward and unbound give the same answers', () => {
  let origin: UnboundServer;
  let reference: UnboundServer;
  let dw: RunningDnsward;

  before(async () => {
    origin = await UnboundServer.start({ zones: ['example'], records: ORIGIN_RECORDS });
    reference = await UnboundServer.start({
      zones: [],
      records: [],
      moduleConfig: 'respip iterator',
      forwardTo: origin.port,
      clauses: ['rpz:', '  name: rpz.test', `  zonefile: ${RPZ_FILE}`],
    });
    dw = await startDnsward(
      `listen: ["127.0.0.1:@PORT@"]\nupstreams: { servers: ["127.0.0.1:${origin.port}"] }\nguard: { mode: off }\npolicy:\n  feeds: [{ name: test-rpz, category: malware, path: "${RPZ_FILE}", zone: rpz.test }]\n  groups: [{ name: everyone, feeds: [test-rpz] }]\n`,
    );
  });

  after(async () => {
    await dw?.stop();
    await reference?.stop();
    await origin?.stop();
  });

  it('answers every probe name and type as unbound does (NXDOMAIN, NODATA, PASSTHRU, DROP, local data, CNAME redirects followed to their target (whose answer addresses rpz-ip rules still block), rpz-ip local data (a CNAME followed too), wildcards, no match)', async () => {
    const names = [
      'ads.example',
      'www.adult.example',
      'evil.example',
      'a.evil.example',
      'deep.a.evil.example',
      'fine.evil.example',
      'x.fine.evil.example',
      'nodata.example',
      'y.nodata.example',
      'garden.example',
      'x.garden.example',
      'ok.example',
      'www.ok.example',
      'drop.example',
      'notevil.example',
      'example',
      'absent.example',
      'redirect.example',
      'x.redirect.example',
      'badredirect.example',
      'ipredirect.example',
      'cdn.example',
      'adult.example',
    ];
    const differences: string[] = [];
    let compared = 0;
    for (const name of names) {
      for (const type of ['A', 'AAAA', 'TXT', 'MX']) {
        const [ours, theirs] = await Promise.all([ask(dw.port, name, type), ask(reference.port, name, type)]);
        compared++;
        if (JSON.stringify(ours) !== JSON.stringify(theirs))
          differences.push(`${name} ${type}: dnsward ${JSON.stringify(ours)} unbound ${JSON.stringify(theirs)}`);
      }
    }
    assert.deepEqual(differences, [], `${differences.length} of ${compared} differ`);
  });

  it('blocks by answer address (rpz-ip) and says which address and rule', async () => {
    const r = await dig('127.0.0.1', dw.port, ['www.ok.example', 'A']);
    assert.equal(r.status, 'NXDOMAIN');
    assert.match(
      r.raw,
      /Policy: answer address 192\.0\.2\.5: malware \(test-rpz serial 7\) rule "32\.5\.2\.0\.192\.rpz-ip CNAME \."/,
    );
  });

  it('applies client-IP (rpz-client-ip) triggers as unbound does; a client PASSTHRU exempts the client, as the RPZ draft says', async () => {
    const differences: string[] = [];
    const noTtl = (answers: string[]) =>
      answers
        .map((a) =>
          a
            .split(/\s+/)
            .filter((_, i) => i !== 1)
            .join(' '),
        )
        .join();
    for (const name of ['ok.example', 'evil.example', 'garden.example']) {
      const [ours, theirs] = await Promise.all([
        dig('127.0.0.1', dw.port, ['-b', '127.0.0.9', name, 'A']),
        dig('127.0.0.1', reference.port, ['-b', '127.0.0.9', name, 'A']),
      ]);
      if (ours.status !== theirs.status || noTtl(ours.answers) !== noTtl(theirs.answers))
        differences.push(`${name}: dnsward ${ours.status} ${ours.answers} unbound ${theirs.status} ${theirs.answers}`);
    }
    assert.deepEqual(differences, []);
    const r = await dig('127.0.0.1', dw.port, ['-b', '127.0.0.9', 'ok.example', 'A']);
    assert.equal(r.status, 'NXDOMAIN');
    assert.match(r.raw, /rule "32\.9\.0\.0\.127\.rpz-client-ip CNAME \."/);
    // unbound 1.17 goes on to the QNAME triggers after a client-IP PASSTHRU; the draft (and BIND)
    // stop there: the trigger of highest precedence decides. dnsward follows the draft, so an
    // operator can exempt a client (a researcher, a scanner) with one line.
    assert.equal((await dig('127.0.0.1', dw.port, ['-b', '127.0.0.10', 'evil.example', 'A'])).status, 'NOERROR');
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['-b', '127.0.0.11', 'evil.example', 'A'])).status,
      'NXDOMAIN',
      'other clients stay filtered',
    );
  });

  it('dnsward why --resolve checks the answer as the server does: a CNAME target, an answer address', async () => {
    const conf = join(dir, 'why-resolve.yaml');
    // The default upstream answers nothing: the names under "example" must go to the forward zone's server, as dnsward routes them.
    writeFileSync(
      conf,
      `listen: ["127.0.0.1:53"]\nupstreams: { servers: ["127.0.0.1:${await freePort()}"] }\nforwardZones: [{ zone: example, servers: ["127.0.0.1:${origin.port}"] }]\npolicy:\n  feeds: [{ name: test-rpz, category: malware, path: "${RPZ_FILE}", zone: rpz.test }]\n  groups: [{ name: everyone, feeds: [test-rpz] }]\n`,
    );
    const alias = await runCli(['why', 'alias.example', '--resolve', '--config', conf]);
    assert.equal(alias.code, 0, alias.stderr);
    assert.match(alias.stdout, /no policy rule matches the name/);
    assert.match(
      alias.stdout,
      new RegExp(
        `127\\.0\\.0\\.1:${origin.port} answers NOERROR:\\n    alias\\.example 300 CNAME www\\.evil\\.example`,
      ),
    );
    assert.match(
      alias.stdout,
      /answer: NXDOMAIN\n {2}because: CNAME target www\.evil\.example: malware rule "\*\.evil\.example CNAME \." \(\w+ match\), line 5 of feed test-rpz/,
    );
    const served = await dig('127.0.0.1', dw.port, ['alias.example', 'A']);
    assert.equal(served.status, 'NXDOMAIN', 'the server does what why says');
    assert.match(
      served.raw,
      /Policy: CNAME target www\.evil\.example: malware \(test-rpz serial 7\) rule "\*\.evil\.example CNAME \."/,
    );

    const address = await runCli(['why', 'www.ok.example', '--resolve', '--json', '--config', conf]);
    const json = JSON.parse(address.stdout) as {
      decision: unknown;
      resolved: {
        rcode: string;
        answers: Array<{ type: string; data: string }>;
        match: { via: string; decision: { rule: string; action: string } };
      };
    };
    assert.equal(json.decision, null);
    assert.deepEqual(
      json.resolved.answers.map((a) => `${a.type} ${a.data}`),
      ['A 192.0.2.5'],
    );
    assert.equal(json.resolved.match.via, 'answer address 192.0.2.5: ');
    assert.equal(json.resolved.match.decision.rule, '32.5.2.0.192.rpz-ip CNAME .');

    const clean = await runCli([
      'why',
      'ok.example',
      '--resolve',
      '--type',
      'A',
      '--server',
      `127.0.0.1:${origin.port}`,
      '--config',
      conf,
    ]);
    assert.match(
      clean.stdout,
      new RegExp(
        `127\\.0\\.0\\.1:${origin.port} answers NOERROR:\\n    ok\\.example 300 A 192\\.0\\.2\\.2\\n  the answer passes`,
      ),
    );
    const named = await runCli(['why', 'evil.example', '--resolve', '--config', conf]);
    assert.match(named.stdout, /answer: NXDOMAIN[^]*not resolved: the policy answers before any upstream is asked/);
    const usage = await runCli(['why', 'ok.example', '--type', 'A', '--config', conf]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--type and --server go with --resolve/);
  });

  it('names the feed, its version and the rule in an Extended DNS Error', async () => {
    const r = await dig('127.0.0.1', dw.port, ['a.evil.example', 'A']);
    assert.equal(r.status, 'NXDOMAIN');
    assert.match(
      r.raw,
      /EDE: 15 \(Blocked\): \(Policy: malware \(test-rpz serial 7\) rule "\*\.evil\.example CNAME \." line 5, group everyone\)/,
    );
  });
});

describe('client groups, feeds over HTTP, the DoH canary and dnsward why', () => {
  let origin: UnboundServer;
  let dw: RunningDnsward;
  let http: Server;
  let served = { body: '', etag: '"v1"' };
  let conditional = 0;
  let configPath: string;

  before(async () => {
    origin = await UnboundServer.start({ zones: ['example'], records: ORIGIN_RECORDS });
    served = { body: '! adult list\n||adult.example^\n', etag: '"v1"' };
    http = createServer((req, res) => {
      if (req.headers['if-none-match'] === served.etag) {
        conditional++;
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { etag: served.etag, 'content-type': 'text/plain' }).end(served.body);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    writeFileSync(join(dir, 'ads.txt'), '0.0.0.0 ads.example\n');
    const config = `listen: ["127.0.0.1:@PORT@"]
upstreams: { servers: ["127.0.0.1:${origin.port}"] }
guard: { mode: off }
policy:
  feeds:
    - { name: adult-list, category: adult, url: "http://127.0.0.1:${port}/adult.txt", refresh: 1h }
    - { name: ads-hosts, category: ads, path: "${join(dir, 'ads.txt')}" }
    - { name: test-rpz, category: malware, path: "${RPZ_FILE}", zone: rpz.test }
  groups:
    - { name: kids, clients: [127.0.0.2/32], categories: [adult, malware], allow: [www.adult.example], action: refused }
    - { name: trial, clients: [127.0.0.3], feeds: [ads-hosts], mode: monitor }
    - { name: everyone, feeds: [test-rpz] }
`;
    configPath = join(dir, 'dnsward.yaml');
    writeFileSync(configPath, config.replace('@PORT@', '5399'));
    dw = await startDnsward(config);
  });

  after(async () => {
    await dw?.stop();
    await origin?.stop();
    await new Promise((r) => http?.close(r));
  });

  it('gives each client group its own feeds, allowlist, action and mode', async () => {
    const kid = await dig('127.0.0.1', dw.port, ['-b', '127.0.0.2', 'adult.example', 'A']);
    assert.equal(kid.status, 'REFUSED');
    assert.match(kid.raw, /EDE: 17 \(Filtered\).*adult \(adult-list [0-9a-f]{12}\) rule "\|\|adult\.example\^"/);
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['-b', '127.0.0.2', 'www.adult.example', 'A'])).status,
      'NOERROR',
      'the kids allowlist',
    );
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['-b', '127.0.0.2', 'evil.example', 'A'])).status,
      'NXDOMAIN',
      'malware by category',
    );
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['adult.example', 'A'])).status,
      'NOERROR',
      'other clients are not filtered for adult',
    );
    assert.equal((await dig('127.0.0.1', dw.port, ['evil.example', 'A'])).status, 'NXDOMAIN');
    // Monitor (shadow) mode: the answer is untouched, the event says what would have happened.
    const trial = await dig('127.0.0.1', dw.port, ['-b', '127.0.0.3', 'ads.example', 'A']);
    assert.equal(trial.status, 'NOERROR');
    await dw.server.events.drain();
    await dw.server.queryLog.settle();
    const events = await dw.server.queryLog.events({ type: 'policy_blocked', limit: 50 });
    const shadow = events.find((e) => e.client === '127.0.0.3');
    assert.equal(shadow?.enforced, false);
    assert.equal(shadow?.policy?.feed, 'ads-hosts');
    assert.equal(shadow?.policy?.rule, '0.0.0.0 ads.example');
    const kidEvent = events.find((e) => e.client === '127.0.0.2' && e.policy?.category === 'adult');
    assert.equal(kidEvent?.policy?.group, 'kids');
    assert.match(kidEvent?.policy?.version ?? '', /^[0-9a-f]{12}$/);
  });

  it('refreshes a feed with a conditional request, and keeps the last good version when an update is corrupt', async () => {
    assert.equal(await dw.server.feeds.refresh('adult-list'), false, 'not modified');
    assert.equal(conditional, 1);
    served = { body: '||adult.example^\n||casino.example^\n', etag: '"v2"' };
    assert.equal(await dw.server.feeds.refresh('adult-list'), true);
    assert.equal((await dig('127.0.0.1', dw.port, ['-b', '127.0.0.2', 'casino.example', 'A'])).status, 'REFUSED');
    const good = dw.server.feeds.feeds.get('adult-list')!.version;
    served = { body: '<html><head><title>502 Bad Gateway</title></head>\n<body>oops</body></html>\n', etag: '"v3"' };
    assert.equal(await dw.server.feeds.refresh('adult-list'), false);
    const f = dw.server.feeds.feeds.get('adult-list')!;
    assert.equal(f.version, good, 'the last good version stays');
    assert.match(f.lastError ?? '', /refused the new version: no usable rule/);
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['-b', '127.0.0.2', 'casino.example', 'A'])).status,
      'REFUSED',
      'still blocked by the good version',
    );
    const snap = dw.server.snapshot().policy.feeds.find((x) => x.name === 'adult-list');
    assert.match(snap?.lastError ?? '', /no usable rule/);
  });

  it('blocks an answer whose CNAME chain leads to a blocked name, from the upstream and from the cache', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await dig('127.0.0.1', dw.port, ['alias.example', 'A']);
      assert.equal(r.status, 'NXDOMAIN', `try ${i + 1}`);
      assert.match(
        r.raw,
        /Policy: CNAME target www\.evil\.example: malware \(test-rpz serial 7\) rule "\*\.evil\.example CNAME \."/,
      );
    }
    assert.ok(dw.server.snapshot().cache.hits >= 1, 'the second answer came from the cache');
  });

  it("answers Firefox's DoH canary with NXDOMAIN and says why in an event", async () => {
    const r = await dig('127.0.0.1', dw.port, ['use-application-dns.net', 'A']);
    assert.equal(r.status, 'NXDOMAIN');
    await dw.server.events.drain();
    await dw.server.queryLog.settle();
    const [e] = await dw.server.queryLog.events({ type: 'policy_blocked', domain: 'use-application-dns.net' });
    assert.match(e.reasons[0], /cannot bypass the DNS firewall/);
  });

  it('dnsward why explains a decision from the configuration', async () => {
    // `why` reads the feeds itself, now: the feed server has a good list again.
    served = { body: '||adult.example^\n', etag: '"v4"' };
    const blocked = await runCli(['why', 'x.evil.example', '--config', configPath]);
    assert.equal(blocked.code, 0, blocked.stderr);
    assert.match(blocked.stdout, /group everyone/);
    assert.match(blocked.stdout, /answer: NXDOMAIN/);
    assert.match(
      blocked.stdout,
      /malware rule "\*\.evil\.example CNAME \." \(wildcard match\), line 5 of feed test-rpz, version serial 7/,
    );
    const kid = await runCli(['why', 'adult.example', '--client', '127.0.0.2', '--config', configPath]);
    assert.match(kid.stdout, /group kids/);
    assert.match(kid.stdout, /answer: REFUSED/, kid.stderr);
    const allowed = await runCli(['why', 'www.adult.example', '--client', '127.0.0.2', '--config', configPath]);
    assert.match(allowed.stdout, /no policy rule matches/);
    const bad = await runCli(['why', 'not a name', '--config', configPath]);
    assert.equal(bad.code, 2);
  });
});

describe("client groups by listener and by a trusted downstream resolver's Client Subnet", () => {
  let origin: UnboundServer;
  let dw: RunningDnsward;
  let configPath: string;

  before(async () => {
    origin = await UnboundServer.start({ zones: ['example'], records: ORIGIN_RECORDS });
    writeFileSync(join(dir, 'adult.txt'), 'adult.example\n');
    writeFileSync(join(dir, 'customer-a.txt'), 'ads.example\n');
    // Two listeners on one port: the office's address and the guest Wi-Fi's.
    const config = `listen:
  - { address: "127.0.0.1:@PORT@", name: office }
  - { address: "127.0.0.2:@PORT@", name: guest-wifi }
upstreams: { servers: ["127.0.0.1:${origin.port}"] }
guard: { mode: off }
policy:
  trustEcsFrom: [127.0.0.1/32]
  feeds:
    - { name: adult-list, category: adult, path: "${join(dir, 'adult.txt')}" }
    - { name: customer-a-list, category: ads, path: "${join(dir, 'customer-a.txt')}" }
  groups:
    - { name: guest, listeners: [guest-wifi], feeds: [adult-list], action: refused }
    - { name: customer-a, clients: [10.1.0.0/16], feeds: [customer-a-list] }
    - { name: everyone, feeds: [] }
`;
    configPath = join(dir, 'listeners.yaml');
    writeFileSync(configPath, config.replaceAll('@PORT@', '5398'));
    dw = await startDnsward(config);
  });

  after(async () => {
    await dw?.stop();
    await origin?.stop();
  });

  it('applies a group only to the queries its listener receives', async () => {
    const guest = await dig('127.0.0.2', dw.port, ['adult.example', 'A']);
    assert.equal(guest.status, 'REFUSED');
    assert.match(guest.raw, /group guest/);
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['adult.example', 'A'])).status,
      'NOERROR',
      'the office listener is not filtered',
    );
  });

  it("groups a trusted resolver's queries by the Client Subnet it sends, and ignores it from anyone else", async () => {
    const customer = await dig('127.0.0.1', dw.port, ['+subnet=10.1.2.0/24', 'ads.example', 'A']);
    assert.equal(customer.status, 'NXDOMAIN');
    assert.match(customer.raw, /group customer-a \(client subnet 10\.1\.2\.0\/24\)/);
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['+subnet=10.9.0.0/16', 'ads.example', 'A'])).status,
      'NOERROR',
      'another subnet is another customer',
    );
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['ads.example', 'A'])).status,
      'NOERROR',
      'no subnet: the resolver itself',
    );
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['-b', '127.0.0.5', '+subnet=10.1.2.0/24', 'ads.example', 'A'])).status,
      'NOERROR',
      'an untrusted source cannot choose its group',
    );
  });

  it('dnsward why takes the listener into account', async () => {
    const guest = await runCli(['why', 'adult.example', '--listener', 'guest-wifi', '--config', configPath]);
    assert.equal(guest.code, 0, guest.stderr);
    assert.match(guest.stdout, /on 127\.0\.0\.2:5398: group guest/);
    assert.match(guest.stdout, /answer: REFUSED/);
    const office = await runCli(['why', 'adult.example', '--config', configPath]);
    assert.match(office.stdout, /on 127\.0\.0\.1:5398: group everyone/);
    const unknown = await runCli(['why', 'adult.example', '--listener', 'lobby', '--config', configPath]);
    assert.equal(unknown.code, 2);
  });

  it('follows a reload that gives the listeners other names, the policy unchanged', async () => {
    const swapped = readFileSync(configPath, 'utf8')
      .replace('name: office', 'name: tmp')
      .replace('name: guest-wifi', 'name: office')
      .replace('name: tmp', 'name: guest-wifi')
      .replaceAll(':5398', `:${dw.port}`);
    await dw.server.reload(
      validateConfig(
        { ...(parseConfigText(swapped, 'reload') as object), dataDir: dw.dataDir, console: { listen: null } },
        'reload',
      ),
    );
    assert.equal(
      (await dig('127.0.0.1', dw.port, ['adult.example', 'A'])).status,
      'REFUSED',
      '127.0.0.1 is the guest Wi-Fi now',
    );
    assert.equal((await dig('127.0.0.2', dw.port, ['adult.example', 'A'])).status, 'NOERROR');
  });

  it('refuses a group that names a listener the configuration does not have, and says where', async () => {
    const bad = configPath.replace(/\.yaml$/, '-bad.yaml');
    writeFileSync(
      bad,
      'listen: ["127.0.0.1:5398"]\nupstreams: { servers: ["127.0.0.1:53"] }\npolicy:\n  groups: [{ name: g, listeners: [lobby] }]\n',
    );
    const r = await runCli(['why', 'a.example', '--config', bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /policy\.groups\.0\.listeners\.0|policy\.groups\[0\]\.listeners\[0\]/);
    assert.match(r.stderr, /expected the name or address of a listener in listen \(127\.0\.0\.1:5398\), got "lobby"/);
  });
});
