/**
 * The configuration file's schema: the single source of truth for keys, types and defaults.
 * docs/CONFIGURATION.md describes each key; `dnsward check-config` validates against this.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { qtypeFromText } from '../dns/wire.js';
import { allListeners, findListener, formatHostPort, parseHostPort } from '../util/address.js';
import { parseCidr } from '../util/cidr.js';
import { ZoneFileError } from '../zones/zone-file.js';
import { loadZone } from '../zones/zone-set.js';
import { duration, size } from './units.js';

const hostPort = (defaultPort: number) =>
  z.string().transform((value, ctx) => {
    const hp = parseHostPort(value, defaultPort);
    if (typeof hp === 'string') {
      ctx.addIssue({ code: 'custom', message: `expected ADDR[:PORT] with an IP address, ${hp}` });
      return z.NEVER;
    }
    return hp;
  });

const protocol = z.enum(['udp', 'tcp']);

function parseHostPortOrThrow(text: string) {
  const hp = parseHostPort(text, 0);
  if (typeof hp === 'string') throw new Error(hp);
  return hp;
}

/** A PEM file's path in the config; its content once loaded (read at load, so a missing file is a config error). */
const pemFile = z.string().transform((path, ctx) => {
  try {
    const text = readFileSync(path, 'utf8');
    if (!text.includes('-----BEGIN ')) {
      ctx.addIssue({ code: 'custom', message: `expected a PEM file, and ${path} has no -----BEGIN line` });
      return z.NEVER;
    }
    return text;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `cannot read ${path}: ${(err as Error).message}` });
    return z.NEVER;
  }
});

const listener = z.union([
  hostPort(53).transform((address) => ({
    address,
    protocols: ['udp', 'tcp'] as ('udp' | 'tcp')[],
    name: undefined as string | undefined,
  })),
  z
    .object({
      address: hostPort(53),
      protocols: z.array(protocol).min(1).default(['udp', 'tcp']),
      /** For policy groups chosen by listener. */
      name: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1–64 letters, digits or . _ -')
        .optional(),
    })
    .strict(),
]);

/** An encrypted listener's certificate chain and key, read at load and again on every reload. */
const encryptedListener = {
  listen: hostPort(853),
  cert: pemFile,
  key: pemFile,
};

/** A certificate and key that do not belong together fail at load (and a reload keeps the old pair). */
function checkPair(l: { cert: string; key: string }, ctx: z.RefinementCtx): void {
  try {
    createSecureContext({ cert: l.cert, key: l.key });
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      path: ['key'],
      message: `expected the private key of cert, and TLS refused the pair: ${(err as Error).message}`,
    });
  }
}

/** DNS over TLS (RFC 7858): the TCP listener's framing and bounds (the `tcp` section) inside TLS. */
const dotListener = z.object(encryptedListener).strict().superRefine(checkPair);

/** DNS over HTTPS (RFC 8484): HTTP/2 and HTTP/1.1 on one port, the `tcp` section's caps and timeouts. */
const dohListener = z
  .object({
    ...encryptedListener,
    listen: hostPort(443),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, 'expected an absolute path such as /dns-query')
      .default('/dns-query'),
  })
  .strict()
  .superRefine(checkPair);

/** Each upstream protocol's port when the address names none: DNS, DoT (RFC 7858), DoH (RFC 8484). */
const UPSTREAM_PORTS = { udp: 53, tcp: 53, tls: 853, https: 443 } as const;

/** How an encrypted upstream's certificate is checked: against `ca` (else Node's CA bundle), for `serverName` (else the address). */
const upstreamTls = z
  .object({
    ca: pemFile.optional(),
    serverName: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,253}$/, 'expected a host name such as dns.example.net')
      .optional(),
  })
  .strict();

const upstreamServer = z.union([
  hostPort(53).transform((address) => ({
    address,
    protocol: 'udp' as UpstreamProtocol,
    path: '/dns-query',
    tls: undefined as z.infer<typeof upstreamTls> | undefined,
  })),
  z
    .object({
      address: z.string(),
      protocol: z.enum(['udp', 'tcp', 'tls', 'https']).default('udp'),
      /** DoH only: the path the upstream serves (RFC 8484's template without variables). */
      path: z
        .string()
        .regex(/^\/[A-Za-z0-9._~/-]*$/, 'expected an absolute path such as /dns-query')
        .optional(),
      tls: upstreamTls.optional(),
    })
    .strict()
    .transform((s, ctx) => {
      const address = parseHostPort(s.address, UPSTREAM_PORTS[s.protocol]);
      if (typeof address === 'string') {
        ctx.addIssue({
          code: 'custom',
          path: ['address'],
          message: `expected ADDR[:PORT] with an IP address, ${address}`,
        });
        return z.NEVER;
      }
      if (s.tls !== undefined && s.protocol !== 'tls' && s.protocol !== 'https') {
        ctx.addIssue({
          code: 'custom',
          path: ['tls'],
          message: `tls applies to protocol tls or https, and this upstream is ${s.protocol}`,
        });
        return z.NEVER;
      }
      if (s.path !== undefined && s.protocol !== 'https') {
        ctx.addIssue({
          code: 'custom',
          path: ['path'],
          message: `path applies to protocol https, and this upstream is ${s.protocol}`,
        });
        return z.NEVER;
      }
      return { address, protocol: s.protocol as UpstreamProtocol, path: s.path ?? '/dns-query', tls: s.tls };
    }),
]);

export type UpstreamProtocol = 'udp' | 'tcp' | 'tls' | 'https';

const policy = z.enum(['failover', 'round-robin', 'least-outstanding']);

/** A query type by name (A, TXT, TYPE65) or number. */
const qtypeName = z.union([z.string(), z.number().int().min(1).max(65535)]).transform((value, ctx) => {
  const qtype = qtypeFromText(value);
  if (qtype !== null) return qtype;
  ctx.addIssue({ code: 'custom', message: `expected a query type such as A, NS, SOA or TYPE65, got "${value}"` });
  return z.NEVER;
});

const healthCheck = z
  .object({
    interval: duration.default(2000),
    timeout: duration.default(1000),
    name: z.string().default('.'),
    type: z
      .union([z.string(), z.number().int().min(1).max(65535)])
      .default('NS')
      .transform((value, ctx) => {
        const qtype = qtypeFromText(value);
        if (qtype !== null) return qtype;
        ctx.addIssue({ code: 'custom', message: `expected a query type such as A, NS, SOA or TYPE65, got "${value}"` });
        return z.NEVER;
      }),
    mustResolve: z.boolean().default(false),
  })
  .strict();

const upstreams = z
  .object({
    policy: policy.default('failover'),
    servers: z.array(upstreamServer).default([]),
    timeout: duration.default(1000),
    attempts: z.number().int().min(1).max(10).default(3),
    maxFailures: z.number().int().min(1).default(3),
    sockets: z.number().int().min(1).max(64).default(4),
    rotateSocketsAfter: z.number().int().min(100).default(10_000),
    /** Queries waiting on one upstream socket or TCP connection; a quarter of the ID space at most. */
    maxInFlightPerSocket: z.number().int().min(1).max(16_384).default(4096),
    tcpIdleTimeout: duration.default(10_000),
    healthCheck: healthCheck.prefault({}),
  })
  .strict();

const forwardZone = z
  .object({
    zone: z.string().min(1),
    policy: policy.default('failover'),
    servers: z.array(upstreamServer).min(1),
  })
  .strict();

const cache = z
  .object({
    enabled: z.boolean().default(true),
    maxEntries: z.number().int().min(1).max(50_000_000).default(100_000),
    maxBytes: size.default(64 << 20),
    minTtl: duration.default(0),
    maxTtl: duration.default(86_400_000),
    maxNegativeTtl: duration.default(3_600_000),
    serveStale: z
      .object({
        enabled: z.boolean().default(true),
        maxStale: duration.default(86_400_000),
        answerTtl: z.number().int().min(1).max(3600).default(30),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const tcp = z
  .object({
    idleTimeout: duration.default(10_000),
    readTimeout: duration.default(5_000),
    writeTimeout: duration.default(10_000),
    maxConnections: z.number().int().min(1).default(1000),
    maxConnectionsPerClient: z.number().int().min(1).default(32),
    maxInFlightPerConnection: z.number().int().min(1).max(65535).default(100),
    // At least the socket's 16 KiB high-water mark, so passing it always ends in a 'drain'.
    maxBufferedPerConnection: size.refine((v) => v >= 16384, { message: 'expected at least 16KiB' }).default(128 << 10),
    maxBufferedTotal: size.refine((v) => v >= 16384, { message: 'expected at least 16KiB' }).default(64 << 20),
  })
  .strict();

const ipv4 = z.string().refine((v) => isIPv4(v), { message: 'expected an IPv4 address' });
const ipv6 = z.string().refine((v) => isIPv6(v), { message: 'expected an IPv6 address' });

const guard = z
  .object({
    mode: z.enum(['block', 'monitor', 'off']).default('block'),
    sensitivity: z.enum(['low', 'medium', 'high']).default('medium'),
    blockAnswer: z.enum(['nxdomain', 'refused', 'sinkhole']).default('nxdomain'),
    quarantineAnswer: z.enum(['refused', 'sinkhole']).default('refused'),
    sinkhole: z
      .object({ ipv4: ipv4.default('0.0.0.0'), ipv6: ipv6.default('::') })
      .strict()
      .prefault({}),
    snapshotInterval: duration.default(60_000),
    holdTimeout: duration.default(250),
    brainPriority: z.enum(['normal', 'low']).default('normal'),
    ringSize: z
      .number()
      .int()
      .min(1024)
      .max(1 << 20)
      .refine((n) => (n & (n - 1)) === 0, { message: 'expected a power of two such as 32768' })
      .default(32_768),
    maxDomains: z.number().int().min(1000).default(1_000_000),
    maxClients: z.number().int().min(100).default(100_000),
    maxPairs: z.number().int().min(1000).default(1_000_000),
  })
  .strict();

const feedConfig = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1–64 letters, digits or . _ -'),
    category: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/, 'expected a lower-case word such as malware, phishing, ransomware, c2, adult, ads'),
    format: z.enum(['rpz', 'hosts', 'domains', 'adblock', 'auto']).default('auto'),
    path: z.string().optional(),
    url: z
      .string()
      .url()
      .refine((u) => /^https?:/.test(u), { message: 'expected an http or https URL' })
      .optional(),
    zone: z.string().optional(),
    refresh: duration.default(3_600_000),
  })
  .strict()
  .refine((f) => (f.path === undefined) !== (f.url === undefined), {
    message: 'a feed needs exactly one of path or url',
  });

const cidr = z.string().refine((v) => typeof parseCidr(v) !== 'string', {
  message: 'expected an address or CIDR range such as 10.0.0.0/8 or 2001:db8::/32',
});

/** A whole number from min to max, with a message that says what it means. */
const wholeNumber = (min: number, max: number, meaning: string) =>
  z.number().refine((v) => Number.isInteger(v) && v >= min && v <= max, {
    message: `expected a whole number from ${min} to ${max} (${meaning})`,
  });

const dynamicBlockRule = z
  .object({
    /** Names the rule in listings, events and the dnsward_dynamic_blocked_total{rule} label; the metric when not given. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1–64 letters, digits or . _ -')
      .optional(),
    metric: z.enum(['queries', 'nxdomain', 'servfail', 'bytes', 'rare-qtypes']),
    rate: z.number().refine((v) => Number.isFinite(v) && v > 0, {
      message: 'expected a rate per second (queries, answers, or bytes for the bytes metric), a number more than 0',
    }),
    window: duration
      .refine((v) => v >= 1000 && v <= 60_000 && v % 1000 === 0, {
        message: 'expected whole seconds from 1s to 60s (the rate is averaged over this window)',
      })
      .default(10_000),
    action: z.enum(['drop', 'refused', 'truncate', 'nxdomain']).default('refused'),
    duration: duration
      .refine((v) => v >= 1000 && v <= 86_400_000, {
        message: 'expected a duration from 1s to 1d (how long a block lasts after the rule last fired)',
      })
      .default(60_000),
  })
  .strict()
  .transform((r) => ({ ...r, name: r.name ?? r.metric }));

/**
 * Rules for defence.dynamicBlocks when it is turned on without any: dnsdist's documented example
 * rule set (query rate, NXDOMAIN and SERVFAIL rates, ANY-style types, answer bytes), with rates
 * raised for a network whose clients include NAT gateways and downstream resolvers: far above
 * what a workstation sends, well below what a flood from one prefix does.
 */
const DEFAULT_DYNAMIC_RULES = [
  { name: 'queries', metric: 'queries', rate: 500, window: '10s', action: 'refused', duration: '60s' },
  { name: 'nxdomain', metric: 'nxdomain', rate: 100, window: '10s', action: 'refused', duration: '60s' },
  { name: 'servfail', metric: 'servfail', rate: 100, window: '10s', action: 'refused', duration: '60s' },
  { name: 'rare-qtypes', metric: 'rare-qtypes', rate: 20, window: '10s', action: 'truncate', duration: '60s' },
  { name: 'bytes', metric: 'bytes', rate: 2_000_000, window: '10s', action: 'truncate', duration: '60s' },
] as const;

/** How many leading bits of a client's address make one client, for every per-client defence. */
const clientIpv4Prefix = () =>
  wholeNumber(8, 32, 'leading bits of an IPv4 address that make one client: 32 for each address, 24 for each /24');
const clientIpv6Prefix = () =>
  wholeNumber(32, 128, 'leading bits of an IPv6 address that make one client: 64 for each /64, 56 for each /56');

/**
 * Dynamic blocks (dnsdist's DynBlockRulesGroup): off by default, like every per-client limit
 * here (one address may be a NAT gateway or a downstream resolver). Loopback is exempt by
 * default: a local stub (systemd-resolved, a local cache) forwards a whole host's queries from
 * 127.0.0.1 or ::1, and blocking it would cut the host off; an operator who wants loopback
 * watched sets `exempt` (an empty list exempts nobody).
 */
const dynamicBlocks = z
  .object({
    enabled: z.boolean().default(false),
    ipv4Prefix: clientIpv4Prefix().default(32),
    ipv6Prefix: clientIpv6Prefix().default(64),
    exempt: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
    rareQtypes: z.array(qtypeName).prefault(['ANY', 'NULL', 'AXFR', 'IXFR', 'HINFO']),
    maxTracked: wholeNumber(
      1000,
      10_000_000,
      'client prefixes counted at most, per I/O thread and in the analysis; about 53 bytes each per thread are allocated at start',
    ).default(100_000),
    maxBlocks: wholeNumber(1, 1_000_000, 'dynamic blocks in force at most').default(10_000),
    rules: z
      .array(dynamicBlockRule)
      .max(32)
      .prefault(DEFAULT_DYNAMIC_RULES as unknown as never[]),
  })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    d.rules.forEach((r, i) => {
      if (seen.has(r.name))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'name'],
          message: `two rules are named "${r.name}": give each rule its own name`,
        });
      seen.add(r.name);
    });
  });

/**
 * Self-defence. Per-client rate limits are off by default, as in BIND (RRL), Unbound
 * (ip-ratelimit), dnsdist and Blocky: a limit is a per-network decision, since one address may be
 * a NAT gateway or a downstream resolver for thousands of users, and an upgrade must not start
 * refusing them. Turned on, the defaults (100/s, burst 200, per /32 and /64) are loose enough for
 * a busy workstation, and the default action (truncate) sends an honest client over the limit to
 * TCP, which is not limited, instead of leaving it without an answer.
 */
const defence = z
  .object({
    clientRate: z
      .object({
        enabled: z.boolean().default(false),
        rate: z
          .number()
          .refine((v) => Number.isFinite(v) && v > 0, {
            message:
              'expected queries per second per client, a number more than 0 (e.g. 100, or 0.5 for one every two seconds)',
          })
          .default(100),
        burst: wholeNumber(1, 1_000_000, 'queries a client may send at once after a quiet spell').default(200),
        ipv4Prefix: clientIpv4Prefix().default(32),
        ipv6Prefix: clientIpv6Prefix().default(64),
        action: z.enum(['drop', 'refused', 'truncate']).default('truncate'),
        exempt: z.array(cidr).default([]),
        maxTracked: wholeNumber(
          1000,
          10_000_000,
          'client prefixes tracked at most; 16 bytes each are allocated at start',
        ).default(100_000),
      })
      .strict()
      .prefault({}),
    /**
     * Response-rate limiting for UDP. Off by default, as in BIND and Knot: like clientRate, a limit
     * on what a prefix may receive must be chosen for the network. Turned on, the defaults are
     * BIND's (window 15 s, slip 2, per /24 and /56) and Knot's rate (20 identical answers a second,
     * far above what any honest client asks for the same name).
     */
    responseRate: z
      .object({
        enabled: z.boolean().default(false),
        responsesPerSecond: z
          .number()
          .refine((v) => Number.isFinite(v) && v > 0, {
            message: 'expected identical responses per second per client prefix, a number more than 0',
          })
          .default(20),
        window: duration
          .refine((v) => v >= 1000 && v <= 3_600_000, {
            message: 'expected a duration from 1s to 1h (how long a flood stays limited after it stops)',
          })
          .default(15_000),
        slip: wholeNumber(
          0,
          10,
          'every Nth limited response is sent TC=1 instead of dropped; 0 always drops, 1 always sends TC=1',
        ).default(2),
        ipv4Prefix: clientIpv4Prefix().default(24),
        ipv6Prefix: clientIpv6Prefix().default(56),
        exempt: z.array(cidr).default([]),
        maxTracked: wholeNumber(
          1000,
          10_000_000,
          '(prefix, response) buckets tracked at most; 24 bytes each are allocated at start',
        ).default(100_000),
      })
      .strict()
      .prefault({}),
    /**
     * DNS cookies (RFC 7873, RFC 9018 server cookies). On by default, as in BIND: answering a
     * cookie costs one hash and changes nothing for clients that send none. Not enforced by
     * default (BIND's require-server-cookie is off too): a client without a valid server cookie
     * is only not exempt from response-rate limiting. Without a secret, a random one is made at
     * start and at each reload (the one before stays valid until the next).
     */
    cookies: z
      .object({
        enabled: z.boolean().default(true),
        secret: z
          .string()
          .regex(
            /^[0-9a-fA-F]{32}$/,
            'expected 32 hex digits (a 128-bit SipHash key), shared by the servers of a cluster',
          )
          .optional(),
        enforce: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    dynamicBlocks: dynamicBlocks.prefault({}),
    /**
     * Random-subdomain ("water torture") floods: detected per registered domain across all clients
     * against that domain's own learned normal (nothing to tune), mitigated without blocking the
     * domain: cached names keep being answered, new names under a flagged domain go upstream at a
     * rate derived from its normal (at least `floor` a second), the rest get SERVFAIL (NXDOMAIN when
     * the cache knows an ancestor does not exist). On by default: it costs a hash pass per cache
     * miss, and nothing flags a domain below `floor` new names and floor/2 failures a second.
     */
    randomSubdomain: z
      .object({
        enabled: z.boolean().default(true),
        mode: z.enum(['limit', 'monitor']).default('limit'),
        floor: z
          .number()
          .refine((v) => Number.isFinite(v) && v >= 1 && v <= 1_000_000, {
            message:
              'expected new names per second from 1 to 1000000 (no domain is flagged below it; a flagged one may still send this many upstream)',
          })
          .default(20),
        maxDomains: wholeNumber(
          100,
          10_000_000,
          'registered domains whose normal is tracked at most (about 150 bytes each)',
        ).default(10_000),
        maxZoneInFlight: wholeNumber(
          0,
          65_536,
          'queries for one zone (registered domain) waiting on upstreams at most, per I/O thread; 0 for no cap',
        ).default(256),
      })
      .strict()
      .prefault({}),
    /**
     * Overload shedding: while an I/O thread's event loop is behind (p90 delay above `delay` in two
     * quarter seconds in a row), cache misses of clients sending over 4 times the others' mean share (and at
     * least 20 a second) are REFUSED at once; cached answers and other clients go on. On by default:
     * it costs one hash per cache miss and does nothing while the thread keeps up.
     */
    overload: z
      .object({
        enabled: z.boolean().default(true),
        delay: duration
          .refine((v) => v >= 5 && v <= 10_000, { message: 'expected an event-loop delay from 5ms to 10s' })
          .default(100),
      })
      .strict()
      .prefault({}),
    /** ANY over UDP answered with one HINFO "RFC8482" record (RFC 8482), as BIND, Knot and Cloudflare do: on by default, ANY is a reflection attack's favourite question and no honest client needs the full answer. */
    minimalAny: z.boolean().default(true),
  })
  .strict();

const responsePolicy = z
  .object({
    feeds: z.array(feedConfig).default([]),
    groups: z
      .array(
        z
          .object({
            name: z.string().min(1),
            clients: z.array(cidr).default([]),
            /** Listener names or addresses (as in listen): the group applies only to queries they receive. */
            listeners: z.array(z.string()).default([]),
            feeds: z.array(z.string()).default([]),
            categories: z.array(z.string()).default([]),
            allow: z.array(z.string()).default([]),
            action: z.enum(['nxdomain', 'nodata', 'refused', 'sinkhole']).default('nxdomain'),
            mode: z.enum(['block', 'monitor']).default('block'),
          })
          .strict(),
      )
      .default([]),
    dohCanary: z.boolean().default(true),
    /** Downstream resolvers whose EDNS Client Subnet is believed: their queries are grouped by that subnet. */
    trustEcsFrom: z.array(cidr).default([]),
    sinkhole: z
      .object({ ipv4: ipv4.default('0.0.0.0'), ipv6: ipv6.default('::') })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    const names = new Set(p.feeds.map((f) => f.name));
    // The console's local lists (policy/local-lists.ts) are feeds under these names.
    p.feeds.forEach((f, i) => {
      if (f.name === 'local-allow' || f.name === 'local-deny')
        ctx.addIssue({
          code: 'custom',
          path: ['feeds', i, 'name'],
          message: `"${f.name}" is the console's local list (Feeds & lists): give this feed another name`,
        });
    });
    p.groups.forEach((g, i) =>
      g.feeds.forEach((f, j) => {
        if (!names.has(f))
          ctx.addIssue({
            code: 'custom',
            path: ['groups', i, 'feeds', j],
            message: `no feed named "${f}" in policy.feeds`,
          });
      }),
    );
  })
  .transform((p) => {
    // Feeds with no groups apply to every client, as every peer does: one implicit group holding them all.
    if (p.groups.length > 0 || p.feeds.length === 0) return p;
    const everyone = {
      name: DEFAULT_POLICY_GROUP,
      clients: [],
      listeners: [],
      feeds: p.feeds.map((f) => f.name),
      categories: [],
      allow: [],
      action: 'nxdomain' as const,
      mode: 'block' as const,
    };
    return { ...p, groups: [everyone] };
  });

/** The group made when feeds are configured without groups: every client, every feed. */
export const DEFAULT_POLICY_GROUP = 'default';

/** A Redis host and port (a name or an IP address: Redis in a cluster is often reached by name). */
const redisAddress = (defaultPort: number) =>
  z.string().transform((value, ctx) => {
    if (isIPv6(value)) return { host: value, port: defaultPort };
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(value);
    const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
    if (m === null || (m[1] !== undefined && !isIPv6(m[1])) || port < 1 || port > 65535) {
      ctx.addIssue({
        code: 'custom',
        message: `expected HOST[:PORT] (a name, an IPv4 address or [IPv6]:PORT), got "${value}"`,
      });
      return z.NEVER;
    }
    return { host: (m[1] ?? m[2])!, port };
  });

/** A secret's file (read at load, so a missing file is a config error naming the key); one trailing newline is not part of it. */
const secretFile = z.string().transform((path, ctx) => {
  try {
    const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    if (text === '') {
      ctx.addIssue({ code: 'custom', message: `${path} is empty` });
      return z.NEVER;
    }
    return text;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `cannot read ${path}: ${(err as Error).message}` });
    return z.NEVER;
  }
});

/** A node's name in a cluster: what other nodes, events and metrics call it. */
export const NODE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function defaultNodeName(): string {
  const name = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 64);
  return name === '' ? 'dnsward' : name;
}

/** Nodes that share decisions through Redis (src/cluster/); null: one node alone. */
const cluster = z
  .object({
    redis: z
      .object({
        /** redis://[user:pass@]host:port[/db] or rediss:// (TLS). */
        url: z
          .string()
          .regex(/^rediss?:\/\/\S+$/, 'expected redis://HOST[:PORT][/DB] or rediss://…')
          .optional(),
        /** One Redis server (standalone). */
        host: redisAddress(6379).optional(),
        /** Redis Sentinel: the sentinels, and the name of the master they watch. */
        sentinels: z.array(redisAddress(26379)).min(1).optional(),
        name: z.string().min(1).optional(),
        /** Redis Cluster: some of its nodes (the rest are discovered). */
        nodes: z.array(redisAddress(6379)).min(1).optional(),
        db: z.number().int().min(0).max(15).default(0),
        username: z.string().min(1).optional(),
        /** A file holding the password (AUTH); the config itself never holds it. */
        passwordFile: secretFile.optional(),
        /** Sentinel's own password, when it has one (a file too). */
        sentinelPasswordFile: secretFile.optional(),
        tls: z
          .object({
            /** The PEM file Redis's certificate is checked against (the system's CAs when absent). */
            ca: pemFile.optional(),
            cert: pemFile.optional(),
            key: pemFile.optional(),
            serverName: z.string().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .superRefine((r, ctx) => {
        const ways = [r.url, r.host, r.sentinels, r.nodes].filter((x) => x !== undefined).length;
        if (ways !== 1)
          ctx.addIssue({
            code: 'custom',
            message: `expected exactly one of url, host, sentinels (with name) or nodes, got ${ways}`,
          });
        if (r.sentinels !== undefined && r.name === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['name'],
            message: "sentinels need name (the master's name they watch)",
          });
        if (r.name !== undefined && r.sentinels === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['name'],
            message: "name is the Sentinel master's name: it goes with sentinels",
          });
        if ((r.tls?.cert === undefined) !== (r.tls?.key === undefined))
          ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls.cert and tls.key go together' });
      }),
    nodeName: z.string().regex(NODE_NAME, 'expected 1–64 letters, digits or . _ -').default(defaultNodeName),
    /** Keys and the channel are named from it: several fleets can share one Redis. */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'expected 1–64 letters, digits or . _ : -')
      .default('dnsward'),
    /** Decisions waiting to reach Redis (when it is slow or down) before the oldest is dropped, counted. */
    queueSize: z.number().int().min(10).max(1_000_000).default(10_000),
    /** Decisions loaded from Redis at most (a (re)joining node reads the set in pages up to this). */
    maxDecisions: z.number().int().min(100).max(1_000_000).default(100_000),
    /** How often the whole set is read again (pub/sub is at most once: this catches what it lost). */
    resyncInterval: duration.refine((ms) => ms >= 1000, 'must be at least 1s').default(30_000),
    /** A Redis command slower than this fails, counted (the query path never waits on it). */
    commandTimeout: duration.refine((ms) => ms > 0, 'must be more than 0').default(2000),
    /**
     * Learning as one: how often each node writes the information windows of client × domain
     * pairs that grew and reads the other nodes' (0: off; each node then spends its own budget).
     */
    learnInterval: duration.refine((ms) => ms === 0 || ms >= 50, 'must be 0 (off) or at least 50ms').default(250),
    /** Client × domain pairs and clients shared at most (the most recently grown; older ones are forgotten, counted). */
    maxSharedPairs: z.number().int().min(100).max(1_000_000).default(10_000),
    /**
     * The fleet console: this node's security events go to a Redis stream capped at about this
     * many entries (all nodes together), which any node's console reads (0: not written).
     */
    fleetEvents: z.number().int().min(0).max(1_000_000).default(10_000),
  })
  .strict();

/**
 * A local zone: its name and either a master file or inline zone-file lines. Read and checked
 * here, so a bad zone is a config error naming the file, line and reason (and a reload keeps
 * the zones running).
 */
const zone = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^(\.|[A-Za-z0-9_*-]+(\.[A-Za-z0-9_-]+)*\.?)$/, 'expected a domain name such as 5gc.example'),
    file: z.string().optional(),
    records: z.array(z.string()).optional(),
    /** Weighted, health-checked answers for names of the zone (A, AAAA, SRV). */
    balance: z
      .array(
        z
          .object({
            name: z.string().min(1),
            weights: z.record(z.string(), z.number().int().min(0).max(1_000_000)).default({}),
            answers: z.number().int().min(1).max(64).default(1),
            healthCheck: z
              .object({
                /** tcp: a connect; http: a GET of `path`, healthy on 2xx/3xx; dns: `query` asked over UDP, healthy on NOERROR with an answer. */
                type: z.enum(['tcp', 'http', 'dns']).default('tcp'),
                port: z.number().int().min(1).max(65535).optional(),
                interval: duration.refine((ms) => ms >= 100, 'must be at least 100ms').default(2000),
                timeout: duration.refine((ms) => ms > 0, 'must be more than 0').default(1000),
                fall: z.number().int().min(1).max(100).default(3),
                rise: z.number().int().min(1).max(100).default(2),
                path: z
                  .string()
                  .regex(/^\/[\x21-\x7e]*$/, 'expected an absolute URL path such as /health')
                  .optional(),
                query: z
                  .object({
                    name: z
                      .string()
                      .min(1)
                      .regex(
                        /^(\.|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?)$/,
                        'expected a domain name such as nrf.5gc.example',
                      ),
                    type: qtypeName.default(1),
                  })
                  .strict()
                  .optional(),
              })
              .strict()
              .superRefine((h, ctx) => {
                if (h.path !== undefined && h.type !== 'http')
                  ctx.addIssue({ code: 'custom', path: ['path'], message: `path goes with type http, not ${h.type}` });
                if (h.query !== undefined && h.type !== 'dns')
                  ctx.addIssue({ code: 'custom', path: ['query'], message: `query goes with type dns, not ${h.type}` });
                if (h.type === 'dns' && h.query === undefined)
                  ctx.addIssue({
                    code: 'custom',
                    path: ['query'],
                    message:
                      'type dns needs query: { name, type } (the question whose answer says the target is healthy)',
                  });
              })
              .transform((h) => ({ ...h, path: h.type === 'http' ? (h.path ?? '/') : null, query: h.query ?? null }))
              .nullable()
              .default(null),
          })
          .strict(),
      )
      .default([]),
    /**
     * Split horizon: the zone answers only queries from these policy groups and/or on these
     * listeners; others go on (another view of the zone, a parent zone, the cache, the upstreams).
     */
    view: z
      .object({
        groups: z.array(z.string().min(1)).min(1).optional(),
        listeners: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict()
      .refine(
        (v) => v.groups !== undefined || v.listeners !== undefined,
        'expected groups (policy group names) and/or listeners (listener names or addresses)',
      )
      .transform((v) => ({ groups: v.groups ?? null, listeners: v.listeners ?? null }))
      .nullable()
      .default(null),
  })
  .strict()
  .transform((z0, ctx) => {
    if ((z0.file === undefined) === (z0.records === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `zone ${z0.name}: expected either file (a master file) or records (zone-file lines), exactly one`,
      });
      return z.NEVER;
    }
    try {
      return loadZone(z0);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message:
          err instanceof ZoneFileError
            ? `zone ${z0.name}: ${err.message}`
            : `zone ${z0.name}: cannot read ${z0.file}: ${(err as Error).message}`,
      });
      return z.NEVER;
    }
  });

export const configSchema = z
  .object({
    listen: z.array(listener).min(1).prefault(['127.0.0.1:5353']),
    upstreams: upstreams.prefault({}),
    forwardZones: z.array(forwardZone).default([]),
    zones: z.array(zone).default([]),
    cache: cache.prefault({}),
    tcp: tcp.prefault({}),
    dot: z.array(dotListener).default([]),
    doh: z.array(dohListener).default([]),
    udp: z
      .object({
        receiveBuffer: size.default(4 << 20),
        io: z.enum(['auto', 'native', 'dgram']).default('auto'),
      })
      .strict()
      .prefault({}),
    dataDir: z.string().default('./var'),
    threads: z.union([z.number().int().min(0).max(256), z.literal('auto')]).default('auto'),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
    shutdown: z
      .object({ drainTimeout: duration.default(5000) })
      .strict()
      .prefault({}),
    defence: defence.prefault({}),
    guard: guard.prefault({}),
    policy: responsePolicy.prefault({}),
    cluster: cluster.nullable().default(null),
    queryLog: z
      .object({
        mode: z.enum(['all', 'blocked', 'off']).default('blocked'),
        /** Count every query in the console's statistics, rows or not (mode blocked: about 1 µs a query on its I/O thread). */
        statistics: z.boolean().default(true),
        maxAge: duration.default(7 * 86_400_000),
        maxSize: size.default(256 << 20),
      })
      .strict()
      .prefault({}),
    dnstap: z
      .object({
        /** unix:/path/to/socket, or ADDR:PORT for TCP. */
        address: z.string().transform((value, ctx) => {
          if (value.startsWith('unix:')) {
            const path = value.slice(5);
            if (path.length > 0) return { path };
            ctx.addIssue({ code: 'custom', message: 'expected unix:/path/to/socket' });
            return z.NEVER;
          }
          const hp = parseHostPort(value, 6000);
          if (typeof hp === 'string') {
            ctx.addIssue({
              code: 'custom',
              message: `expected unix:/path/to/socket or ADDR[:PORT] with an IP address, ${hp}`,
            });
            return z.NEVER;
          }
          return hp;
        }),
        identity: z.string().optional(),
        queries: z.boolean().default(true),
        responses: z.boolean().default(true),
        maxBuffered: size.default(4 << 20),
      })
      .strict()
      .nullable()
      .default(null),
    console: z
      .object({
        listen: hostPort(8053).nullable().default(parseHostPortOrThrow('127.0.0.1:8053')),
        tls: z.object({ cert: pemFile, key: pemFile }).strict().optional(),
        sessionTimeout: duration.default(8 * 3_600_000),
        /** Host names (NAME or NAME:PORT) the console answers under besides its listen address (DNS-rebinding defence). */
        allowedHosts: z
          .array(z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'expected NAME or NAME:PORT'))
          .default([]),
        maxConnections: z.number().int().min(1).default(64),
        maxConnectionsPerAddress: z.number().int().min(1).default(16),
        idleTimeout: duration.refine((ms) => ms > 0, 'must be more than 0').default(30_000),
        requestTimeout: duration.refine((ms) => ms > 0, 'must be more than 0').default(30_000),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        listen: hostPort(9153).nullable().default(null),
        maxConnections: z.number().int().min(1).default(16),
        maxConnectionsPerAddress: z.number().int().min(1).default(8),
        idleTimeout: duration.refine((ms) => ms > 0, 'must be more than 0').default(30_000),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        queueSize: z.number().int().min(100).default(10_000),
        file: z
          .object({
            path: z.string(),
            format: z.enum(['json', 'ocsf', 'ecs']).default('json'),
            maxSize: size.default(64 << 20),
            maxAge: duration.nullable().default(null),
            keep: z.number().int().min(0).max(100).default(5),
          })
          .strict()
          .nullable()
          .default(null),
        syslog: z
          .array(
            z
              .object({
                address: z.string(),
                protocol: z.enum(['tcp', 'udp', 'tls']).default('tcp'),
                format: z.enum(['cef', 'json', 'ocsf', 'ecs']).default('cef'),
                maxBuffered: z.number().int().min(1).default(10_000),
                tls: z
                  .object({
                    ca: pemFile,
                    cert: pemFile.optional(),
                    key: pemFile.optional(),
                    serverName: z.string().optional(),
                  })
                  .strict()
                  .optional(),
              })
              .strict()
              .transform((s, ctx) => {
                // RFC 5425 gives syslog over TLS port 6514; plain syslog is 514.
                const address = parseHostPort(s.address, s.protocol === 'tls' ? 6514 : 514);
                if (typeof address === 'string') {
                  ctx.addIssue({
                    code: 'custom',
                    path: ['address'],
                    message: `expected ADDR[:PORT] with an IP address, ${address}`,
                  });
                  return z.NEVER;
                }
                if (s.protocol === 'tls' && s.tls === undefined) {
                  ctx.addIssue({
                    code: 'custom',
                    path: ['tls'],
                    message: "protocol tls needs tls.ca (the PEM file the collector's certificate is checked against)",
                  });
                  return z.NEVER;
                }
                if ((s.tls?.cert === undefined) !== (s.tls?.key === undefined)) {
                  ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls.cert and tls.key go together' });
                  return z.NEVER;
                }
                return { ...s, address };
              }),
          )
          .default([]),
        http: z
          .array(
            z
              .object({
                kind: z.enum(['splunk-hec', 'elasticsearch', 'webhook']),
                url: z.string().url(),
                token: z.string().optional(),
                index: z.string().default('dnsward-events'),
                format: z.enum(['json', 'ocsf']).default('json'),
                maxBuffered: z.number().int().min(1).default(10_000),
                timeout: duration.default(5000),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const zoneNames = new Set<string>();
    const groupNames = c.policy.groups.map((g) => g.name);
    const listeners = allListeners(c);
    c.zones.forEach((z0, i) => {
      const name = z0.name.toLowerCase().replace(/\.$/, '');
      // Views of one zone are tried in order: one without a view answers everything, so none may follow it.
      if (zoneNames.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['zones', i, 'name'],
          message: `zone ${z0.name} is configured twice (several views of a zone are allowed, but only the last may be without a view: it answers every query the earlier ones do not)`,
        });
      if (z0.view === null) zoneNames.add(name);
      z0.view?.groups?.forEach((g, j) => {
        if (!groupNames.includes(g))
          ctx.addIssue({
            code: 'custom',
            path: ['zones', i, 'view', 'groups', j],
            message: `expected the name of a group in policy.groups (${groupNames.length === 0 ? 'none is configured' : groupNames.join(', ')}), got "${g}"`,
          });
      });
      z0.view?.listeners?.forEach((l, j) => {
        if (findListener(l, listeners) !== undefined) return;
        const known = listeners.flatMap((x) => [formatHostPort(x.address), ...(x.name === undefined ? [] : [x.name])]);
        ctx.addIssue({
          code: 'custom',
          path: ['zones', i, 'view', 'listeners', j],
          message: `expected the name or address of a listener in listen, dot or doh (${known.join(', ')}), got "${l}"`,
        });
      });
    });
    c.policy.groups.forEach((g, i) =>
      g.listeners.forEach((l, j) => {
        if (findListener(l, c.listen) !== undefined) return;
        const known = c.listen.flatMap((x) => [formatHostPort(x.address), ...(x.name === undefined ? [] : [x.name])]);
        ctx.addIssue({
          code: 'custom',
          path: ['policy', 'groups', i, 'listeners', j],
          message: `expected the name or address of a listener in listen (${known.join(', ')}), got "${l}"`,
        });
      }),
    );
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
