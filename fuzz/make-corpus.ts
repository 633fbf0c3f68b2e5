/**
 * Writes the seed corpus (fuzz/corpus/<target>/seed-*): real DNS queries and answers encoded by
 * dns-packet, captures framed as tcpdump writes them, RPZ/hosts/domain/adblock samples and
 * configuration documents. Run once and committed (`node dist/fuzz/make-corpus.js`); crash
 * files found later sit beside the seeds and are never overwritten by this script.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { CORPUS_DIR } from './corpus.js';

function write(target: string, name: string, data: Buffer | string): void {
  mkdirSync(join(CORPUS_DIR, target), { recursive: true });
  writeFileSync(join(CORPUS_DIR, target, `seed-${name}`), data);
}

const opt = (udpPayloadSize: number, flags = 0, options: unknown[] = []) =>
  ({ type: 'OPT', name: '.', udpPayloadSize, flags, options }) as unknown as dnsPacket.Answer;

// Queries: plain, EDNS with DO, ECS, a cookie, other types, and the odd ones a parser must refuse.
const queries: Record<string, dnsPacket.Packet> = {
  a: {
    type: 'query',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'www.example.com', class: 'IN' }],
  },
  aaaa_edns: {
    type: 'query',
    id: 2,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'AAAA', name: 'example.org', class: 'IN' }],
    additionals: [opt(1232)],
  },
  txt_do: {
    type: 'query',
    id: 3,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED,
    questions: [{ type: 'TXT', name: 'aGVsbG8.t.tunnel.example', class: 'IN' }],
    additionals: [opt(4096, dnsPacket.DNSSEC_OK)],
  },
  ecs: {
    type: 'query',
    id: 4,
    flags: 0,
    questions: [{ type: 'A', name: 'cdn.example.net', class: 'IN' }],
    additionals: [
      opt(1232, 0, [
        { code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '192.0.2.0' },
      ]),
    ],
  },
  ecs6: {
    type: 'query',
    id: 5,
    flags: 0,
    questions: [{ type: 'A', name: 'cdn.example.net', class: 'IN' }],
    additionals: [
      opt(1232, 0, [
        { code: 'CLIENT_SUBNET', family: 2, sourcePrefixLength: 56, scopePrefixLength: 0, ip: '2001:db8::' },
      ]),
    ],
  },
  cookie: {
    type: 'query',
    id: 6,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'MX', name: 'example.com', class: 'IN' }],
    additionals: [opt(1232, 0, [{ code: 'COOKIE', data: Buffer.from('0102030405060708', 'hex') }])],
  },
  padding: {
    type: 'query',
    id: 7,
    flags: 0,
    questions: [{ type: 'HTTPS' as dnsPacket.RecordType, name: 'svc.example', class: 'IN' }],
    additionals: [opt(1232, 0, [{ code: 'PADDING', length: 32 }])],
  },
  any: {
    type: 'query',
    id: 8,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'ANY' as dnsPacket.RecordType, name: 'example.com', class: 'IN' }],
  },
  ptr: { type: 'query', id: 9, flags: 0, questions: [{ type: 'PTR', name: '1.2.0.192.in-addr.arpa', class: 'IN' }] },
  chaos: { type: 'query', id: 10, flags: 0, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] },
  root_ns: { type: 'query', id: 11, flags: 0, questions: [{ type: 'NS', name: '.', class: 'IN' }] },
  long_name: {
    type: 'query',
    id: 12,
    flags: 0,
    questions: [
      { type: 'NULL', name: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, class: 'IN' },
    ],
  },
  two_questions: {
    type: 'query',
    id: 13,
    flags: 0,
    questions: [
      { type: 'A', name: 'a.example', class: 'IN' },
      { type: 'A', name: 'b.example', class: 'IN' },
    ],
  },
  with_answer: {
    type: 'query',
    id: 14,
    flags: 0,
    questions: [{ type: 'A', name: 'a.example', class: 'IN' }],
    answers: [{ type: 'A', name: 'a.example', ttl: 1, data: '192.0.2.1' }],
  },
  notify: { type: 'query', id: 15, flags: 4 << 11, questions: [{ type: 'SOA', name: 'example.com', class: 'IN' }] },
  edns1: {
    type: 'query',
    id: 16,
    flags: 0,
    questions: [{ type: 'A', name: 'example.com', class: 'IN' }],
    additionals: [opt(1232, 0x0100)],
  },
};
for (const [name, p] of Object.entries(queries)) {
  let b = dnsPacket.encode(p);
  // EDNS version lives in the OPT TTL's second byte, which dns-packet does not expose.
  if (name === 'edns1') {
    b = Buffer.from(b);
    b[b.length - 11 + 6] = 1;
  }
  write('query-parser', name, b);
}

const soa = {
  type: 'SOA',
  name: 'example.com',
  ttl: 3600,
  data: {
    mname: 'ns1.example.com',
    rname: 'hostmaster.example.com',
    serial: 2026120301,
    refresh: 7200,
    retry: 3600,
    expire: 1209600,
    minimum: 300,
  },
} as dnsPacket.Answer;
const q = (type: dnsPacket.RecordType, name = 'example.com') => [{ type, name, class: 'IN' as const }];
const responses: Record<string, dnsPacket.Packet> = {
  a: {
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: q('A', 'www.example.com'),
    answers: [
      { type: 'CNAME', name: 'www.example.com', ttl: 300, data: 'example.com' },
      { type: 'A', name: 'example.com', ttl: 60, data: '192.0.2.1' },
      { type: 'A', name: 'example.com', ttl: 60, data: '192.0.2.2' },
    ],
    additionals: [opt(1232)],
  },
  aaaa: {
    type: 'response',
    id: 2,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: q('AAAA'),
    answers: [{ type: 'AAAA', name: 'example.com', ttl: 120, data: '2001:db8::1' }],
  },
  nxdomain: {
    type: 'response',
    id: 3,
    flags: dnsPacket.RECURSION_AVAILABLE | 3,
    questions: q('A', 'nope.example.com'),
    authorities: [soa],
  },
  nodata: {
    type: 'response',
    id: 4,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: q('MX'),
    authorities: [soa],
    additionals: [opt(1232, dnsPacket.DNSSEC_OK)],
  },
  txt: {
    type: 'response',
    id: 5,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: q('TXT', 'aGVsbG8.t.tunnel.example'),
    answers: [{ type: 'TXT', name: 'aGVsbG8.t.tunnel.example', ttl: 0, data: ['d29ybGQ', 'x'.repeat(200)] }],
  },
  mx_ns: {
    type: 'response',
    id: 6,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: q('MX'),
    answers: [{ type: 'MX', name: 'example.com', ttl: 300, data: { preference: 10, exchange: 'mail.example.com' } }],
    authorities: [{ type: 'NS', name: 'example.com', ttl: 86400, data: 'ns1.example.com' }],
    additionals: [{ type: 'A', name: 'mail.example.com', ttl: 300, data: '192.0.2.25' }],
  },
  servfail: { type: 'response', id: 7, flags: dnsPacket.RECURSION_AVAILABLE | 2, questions: q('A') },
  truncated: {
    type: 'response',
    id: 8,
    flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.TRUNCATED_RESPONSE,
    questions: q('DNSKEY'),
  },
  null_rr: {
    type: 'response',
    id: 9,
    flags: 0,
    questions: q('NULL', 'x.t.example'),
    answers: [{ type: 'NULL', name: 'x.t.example', ttl: 0, data: Buffer.alloc(100, 7) }],
  },
  srv_ptr: {
    type: 'response',
    id: 10,
    flags: 0,
    questions: q('SRV', '_sip._udp.example.com'),
    answers: [
      {
        type: 'SRV',
        name: '_sip._udp.example.com',
        ttl: 30,
        data: { priority: 1, weight: 2, port: 5060, target: 'sip.example.com' },
      },
    ],
  },
  https: {
    type: 'response',
    id: 11,
    flags: 0,
    questions: q('CAA'),
    answers: [{ type: 'CAA', name: 'example.com', ttl: 30, data: { flags: 0, tag: 'issue', value: 'ca.example.net' } }],
  },
  rrsig: {
    type: 'response',
    id: 12,
    flags: dnsPacket.AUTHENTIC_DATA,
    questions: q('A'),
    answers: [
      { type: 'A', name: 'example.com', ttl: 60, data: '192.0.2.1' },
      {
        type: 'RRSIG',
        name: 'example.com',
        ttl: 60,
        data: {
          typeCovered: 'A',
          algorithm: 13,
          labels: 2,
          originalTTL: 60,
          expiration: 1800000000,
          inception: 1700000000,
          keyTag: 1234,
          signersName: 'example.com',
          signature: Buffer.alloc(64, 1),
        },
      },
    ],
    additionals: [opt(1232, dnsPacket.DNSSEC_OK)],
  },
};
for (const [name, p] of Object.entries(responses)) {
  const b = dnsPacket.encode(p);
  write('response-scanner', name, b);
  write('dns-message', name, b);
}
for (const name of ['a', 'txt_do', 'ecs']) write('dns-message', `query-${name}`, dnsPacket.encode(queries[name]));

// Captures, framed as tcpdump writes them (see test/capture/pcap-reader.test.ts).
const udp = (sp: number, dp: number, payload: Buffer) => {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sp, 0);
  h.writeUInt16BE(dp, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
};
const tcp = (sp: number, dp: number, payload: Buffer) => {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sp, 0);
  h.writeUInt16BE(dp, 2);
  h[12] = 5 << 4;
  return Buffer.concat([h, payload]);
};
const ipv4 = (proto: number, body: Buffer) => {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h[8] = 64;
  h[9] = proto;
  h.set([127, 0, 0, 1], 12);
  h.set([127, 0, 0, 53], 16);
  return Buffer.concat([h, body]);
};
const ipv6 = (next: number, body: Buffer) => {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(body.length, 4);
  h[6] = next;
  h[7] = 64;
  h[23] = 1;
  h[39] = 1;
  return Buffer.concat([h, body]);
};
const ether = (type: number, p: Buffer, vlan = false) => {
  const h = Buffer.alloc(vlan ? 18 : 14);
  if (vlan) {
    h.writeUInt16BE(0x8100, 12);
    h.writeUInt16BE(type, 16);
  } else h.writeUInt16BE(type, 12);
  return Buffer.concat([h, p]);
};
const sll = (type: number, p: Buffer) => {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(type, 14);
  return Buffer.concat([h, p]);
};
const sll2 = (type: number, p: Buffer) => {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  return Buffer.concat([h, p]);
};
const loop = (family: number, p: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(family, 0);
  return Buffer.concat([h, p]);
};
function pcap(link: number, frames: Buffer[], opts: { nano?: boolean; be?: boolean } = {}): Buffer {
  const w32 = (b: Buffer, v: number, o: number) => (opts.be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const h = Buffer.alloc(24);
  w32(h, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  if (opts.be) {
    h.writeUInt16BE(2, 4);
    h.writeUInt16BE(4, 6);
  } else {
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
  }
  w32(h, 65535, 16);
  w32(h, link, 20);
  return Buffer.concat([
    h,
    ...frames.map((f, i) => {
      const r = Buffer.alloc(16);
      w32(r, 1_764_720_000 + i, 0);
      w32(r, 1000 * i, 4);
      w32(r, f.length, 8);
      w32(r, f.length, 12);
      return Buffer.concat([r, f]);
    }),
  ]);
}
function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const b = Buffer.alloc(12 + padded.length);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(b.length, 4);
  padded.copy(b, 8);
  b.writeUInt32LE(b.length, b.length - 4);
  return b;
}
function pcapng(link: number, frames: Buffer[]): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(16);
  idb.writeUInt16LE(link, 0);
  idb.writeUInt32LE(65535, 4);
  idb.writeUInt16LE(9, 8);
  idb.writeUInt16LE(1, 10);
  idb[12] = 6;
  const epbs = frames.map((f) => {
    const e = Buffer.alloc(20);
    e.writeUInt32LE(0x00062d0f, 4);
    e.writeUInt32LE(f.length, 12);
    e.writeUInt32LE(f.length, 16);
    return block(6, Buffer.concat([e, f]));
  });
  const spb = (f: Buffer) => {
    const s = Buffer.alloc(4);
    s.writeUInt32LE(f.length, 0);
    return block(3, Buffer.concat([s, f]));
  };
  return Buffer.concat([block(0x0a0d0d0a, shb), block(1, idb), ...epbs, ...frames.slice(0, 1).map(spb)]);
}
const qa = dnsPacket.encode(queries.a);
const ra = dnsPacket.encode(responses.a);
const rtxt = dnsPacket.encode(responses.txt);
const framed = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
write(
  'pcap',
  'ethernet-udp',
  pcap(1, [
    ether(0x0800, ipv4(17, udp(40000, 53, qa))),
    ether(0x0800, ipv4(17, udp(53, 40000, ra))),
    ether(0x0800, ipv4(17, udp(40001, 443, Buffer.from('not dns')))),
  ]),
);
write(
  'pcap',
  'ethernet-vlan-ipv6',
  pcap(1, [ether(0x86dd, ipv6(17, udp(40002, 53, qa)), true), ether(0x86dd, ipv6(17, udp(53, 40002, rtxt)))]),
);
write(
  'pcap',
  'ethernet-tcp',
  pcap(1, [
    ether(0x0800, ipv4(6, tcp(40003, 53, Buffer.concat([framed(qa), framed(dnsPacket.encode(queries.any))])))),
    ether(0x0800, ipv4(6, tcp(53, 40003, framed(ra).subarray(0, 20)))),
  ]),
);
write('pcap', 'sll', pcap(113, [sll(0x0800, ipv4(17, udp(1, 53, qa)))]));
write('pcap', 'sll2-ipv6', pcap(276, [sll2(0x86dd, ipv6(17, udp(1, 53, dnsPacket.encode(queries.ecs))))]));
write('pcap', 'raw-nano', pcap(101, [ipv4(17, udp(1, 53, qa)), ipv4(17, udp(53, 1, ra))], { nano: true }));
write('pcap', 'loopback-be', pcap(0, [loop(2, ipv4(17, udp(1, 53, qa)))], { be: true }));
write('pcap', 'openbsd-loop', pcap(12, [ipv4(17, udp(1, 53, qa))]));
write(
  'pcap',
  'pcapng-ethernet',
  pcapng(1, [ether(0x0800, ipv4(17, udp(5353, 53, qa))), ether(0x0800, ipv4(17, udp(53, 5353, rtxt)))]),
);
write('pcap', 'pcapng-raw', pcapng(101, [ipv6(17, udp(5353, 53, dnsPacket.encode(queries.txt_do)))]));
write('pcap', 'unsupported-link', pcap(147, [Buffer.alloc(30)]));

// Feeds.
write(
  'feed-rpz',
  'sample.rpz',
  `$TTL 300
@ IN SOA localhost. admin.localhost. ( 2026112801 3600 600 86400 60 )
  IN NS localhost.
evil.example       CNAME .            ; NXDOMAIN
*.evil.example     CNAME .
nodata.example     CNAME *.
fine.evil.example  CNAME rpz-passthru.
drop.example       CNAME rpz-drop.
garden.example     A 192.0.2.80
garden.example     AAAA 2001:db8::80
garden.example     TXT "walled garden"
redirect.example   CNAME walled.garden.example.
32.1.2.0.192.rpz-ip CNAME .
48.zz.db8.2001.rpz-ip CNAME rpz-drop.
24.0.1.10.rpz-client-ip CNAME rpz-passthru.
ns.bad.rpz-nsdname CNAME .
32.1.2.0.192.rpz-nsip CNAME .
tcp.example        CNAME rpz-tcp-only.
mx.example         MX 10 mail.example.
`,
);
write(
  'feed-rpz',
  'origin.rpz',
  '$ORIGIN example.rpz.test.\na CNAME .\n*.b.example.rpz.test. 60 IN ( CNAME\n *. ) ; comment\n$ORIGIN rpz.test.\nc.example.rpz.test. CNAME rpz-passthru.\n',
);
write(
  'feed-rpz',
  'bad-lines.rpz',
  '$ORIGIN rpz.test.\nbad..name CNAME .\nok.example CNAME .\nfoo CNAME bad..target.\n$INCLUDE other.zone\n"quoted CNAME .\n( unbalanced\n',
);
write('feed-rpz', 'crlf-bom.rpz', '\ufeff$TTL 60\r\n@ SOA ns. h. 7 1 1 1 1\r\nx.example CNAME .\r\n');
write(
  'feed-hosts',
  'sample.hosts',
  '# hosts\n127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n0.0.0.0 ads.example tracker.example\n0.0.0.0 0.0.0.0\n127.0.0.1\tmetrics.example.net # trailing comment\n0.0.0.0 bad..name\nnot-an-address example.com\n',
);
write('feed-hosts', 'crlf.hosts', '\ufeff0.0.0.0 a.example\r\n0.0.0.0 b.example\r\n\r\n');
write(
  'feed-domains',
  'sample.txt',
  '# domains\nexample.com\n*.wild.example\nsub.domain.example.org\nbad..name\n*bad.example\nxn--bcher-kva.example\n\n  spaced.example  \n',
);
write('feed-domains', 'single', 'only.example');
write(
  'feed-adblock',
  'sample.txt',
  '[Adblock Plus 2.0]\n! Title: test\n||ads.example^\n@@||good.ads.example^\n||tracker.example^$important\n||third.example^$third-party\nexample.com##.banner\n/banner/*/img^\nbare.example.net\n||bad..name^\n||pipe.example^|\n||wild*.example^\n',
);
for (const [format, text] of [
  ['rpz', 'x.example CNAME .\n'],
  ['hosts', '0.0.0.0 x.example\n'],
  ['domains', 'x.example\n'],
  ['adblock', '||x.example^\n'],
] as const)
  write(`feed-${format}`, 'tiny', text);

// Configuration documents.
const configs: Record<string, string> = {
  empty: '',
  minimal: 'listen: ["127.0.0.1:53"]\nupstreams: { servers: ["192.0.2.1"], policy: round-robin }\n',
  anchors:
    'listen: &l ["127.0.0.1:5300"]\nconsole: { listen: null, allowedHosts: ["dnsward.example:8053"] }\nupstreams: { servers: ["127.0.0.1:53"] }\nforwardZones:\n  - { zone: a.example, servers: &s ["127.0.0.1:5301"] }\n  - { zone: b.example, servers: *s }\n',
  laughs: 'a: &a ["lol", "lol", "lol", "lol"]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n',
  defence:
    'defence:\n  clientRate: { enabled: true, rate: 0.5, burst: 3, ipv4Prefix: 24, ipv6Prefix: 56, action: refused, exempt: ["10.0.0.0/8", "2001:db8::/32"], maxTracked: 5000 }\n',
  defence_bad: 'defence:\n  clientRate:\n    rate: 0\n    burst: 1.5\n    ipv4Prefix: 33\n    action: slow-down\n',
  policy:
    'policy:\n  feeds:\n    - { name: urlhaus, category: malware, url: "https://example.org/urlhaus.rpz", format: rpz, zone: rpz.urlhaus, refresh: 1h }\n    - { name: phishing, category: phishing, path: /etc/dnsward/phishing.txt }\n    - { name: ads, category: ads, url: "https://example.org/adblock.txt", format: adblock }\n  groups:\n    - { name: kids, clients: [10.1.0.0/16], categories: [malware, phishing, adult], allow: [school.example], action: refused }\n    - { name: trial, clients: [10.2.0.0/16], feeds: [urlhaus, ads], mode: monitor }\n    - { name: everyone, feeds: [urlhaus, phishing] }\n  trustEcsFrom: [192.0.2.53/32]\n  dohCanary: true\n',
  full: 'listen:\n  - "127.0.0.1:53"\n  - { address: "[::1]:53", protocols: [udp, tcp], name: lo6 }\nupstreams:\n  servers: ["192.0.2.1", { address: "[2001:db8::53]:53", protocol: tcp }]\n  policy: least-outstanding\n  timeout: 250ms\n  attempts: 2\n  healthCheck: { interval: 2s, name: ., type: NS, mustResolve: true }\ncache: { enabled: true, maxEntries: 100000 }\ntcp: { idleTimeout: 10s }\nthreads: 2\ndataDir: /var/lib/dnsward\nguard: { mode: block }\nlog: { level: info }\nqueryLog: { enabled: false }\nmetrics: { listen: "127.0.0.1:9153" }\n',
  workers: 'workers: 4\n',
  top_list: '- a\n- b\n',
  top_scalar: 'just a string\n',
  bad_yaml: 'listen: [\n  "unterminated\n',
  tabs_dupes: 'cache:\n\tenabled: true\ncache: {}\n',
  sizes: 'cache: { maxEntries: 1e400, maxBytes: 64MiB }\nupstreams: { timeout: 1d, servers: ["300.1.1.1:99999"] }\n',
  tags: '!!map { ? listen : !!seq [ !!str "127.0.0.1:53" ] }\n--- \nsecond: document\n',
};
for (const [name, text] of Object.entries(configs)) write('config', `${name}.yaml`, text);
console.log(`seed corpus written to ${CORPUS_DIR}`);
