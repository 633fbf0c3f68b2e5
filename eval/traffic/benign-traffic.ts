/**
 * Generated benign DNS traffic of an enterprise network, rich in the hard negatives that encode
 * data in names: antivirus reputation lookups (McAfee GTI, ESET, Sophos, Kaspersky KSN), DNSBL
 * lookups from mail servers, reverse lookups, CDN and cloud hashes, ad safeframe hex, DKIM,
 * DMARC and SRV names, Chrome's random probes, multi-tenant platforms. Templates follow names
 * seen in the public ISP corpus (`../shared/datasets/isp-ziza`), rebuilt with random content.
 * Deterministic for a seed; this is also the data the shipped prior is trained on.
 */
import { ALNUM, BASE32, HEX, Random } from './random.js';
import { HOST_LABELS, pseudoWord, siteName, TLDS, WORDS } from './vocabulary.js';

export type BenignKind =
  | 'web'
  | 'cdn'
  | 'cloud'
  | 'av-mcafee'
  | 'av-eset'
  | 'av-sophos'
  | 'av-kaspersky'
  | 'dnsbl'
  | 'ptr'
  | 'dkim-srv'
  | 'chrome-probe'
  | 'multi-tenant'
  | 'safeframe';

export interface GeneratedQuery {
  ts: number;
  client: string;
  qname: string;
  qtype: number;
  kind: string;
}

export interface BenignOptions {
  seed: number;
  clients: number;
  /** Mail servers among the clients (DNSBL-heavy). */
  mailServers: number;
  start: number;
  durationSeconds: number;
  /** Mean queries per desktop client per hour. */
  queriesPerHour: number;
}

const POPULAR = [
  'google.com',
  'googleapis.com',
  'gstatic.com',
  'youtube.com',
  'facebook.com',
  'microsoft.com',
  'windows.com',
  'office.com',
  'live.com',
  'apple.com',
  'icloud.com',
  'amazon.com',
  'cloudflare.com',
  'wikipedia.org',
  'twitter.com',
  'linkedin.com',
  'github.com',
  'slack.com',
  'zoom.us',
  'netflix.com',
  'doubleclick.net',
  'googlesyndication.com',
  'bing.com',
  'msn.com',
];
const POPULAR_HOSTS: Record<string, string[]> = {
  'google.com': ['www', 'mail', 'accounts', 'clients4', 'play', 'drive', 'docs', 'apis', 'ssl', 'fonts'],
  'googleapis.com': ['www', 'fonts', 'ajax', 'storage', 'content-autofill', 'safebrowsing', 'update'],
  'microsoft.com': ['www', 'login', 'go', 'support', 'learn', 'update', 'download'],
  'windows.com': ['settings-win.data', 'v10.events.data', 'login', 'ctldl.windowsupdate'],
  'office.com': ['www', 'outlook', 'substrate', 'login', 'ecs'],
  'apple.com': ['www', 'gs', 'init', 'configuration', 'mesu', 'xp'],
};
const AV_VENDORS: BenignKind[] = ['av-mcafee', 'av-mcafee', 'av-eset', 'av-eset', 'av-sophos', 'av-kaspersky'];

export function generateBenignTraffic(o: BenignOptions): GeneratedQuery[] {
  const rng = new Random(o.seed);
  const sites: string[] = [];
  for (let i = 0; i < 4000; i++) sites.push(`${siteName(rng)}.${rng.pick(TLDS)}`);
  const companies: string[] = [];
  for (let i = 0; i < 300; i++) companies.push(`${siteName(rng)}.${rng.pick(['com', 'net', 'org', 'de', 'co.uk'])}`);
  const out: GeneratedQuery[] = [];
  for (let c = 0; c < o.clients; c++) {
    const client = `10.${20 + (c >> 8)}.${c & 0xff}.${10 + (c % 200)}`;
    const mail = c < o.mailServers;
    const av = rng.next() < 0.9 ? rng.pick(AV_VENDORS) : undefined;
    const rate = (mail ? 3 : 1) * o.queriesPerHour * (0.3 + rng.next() * 1.4);
    let ts = o.start + rng.exp(3600 / rate);
    // Each client browses in sessions: its own favourite sites come back.
    const favourites = Array.from({ length: 40 }, () => rng.zipf(sites));
    while (ts < o.start + o.durationSeconds) {
      for (const q of mail ? mailQuery(rng, companies) : desktopQuery(rng, sites, favourites, companies, av))
        out.push({ ts, client, ...q });
      ts += rng.exp(3600 / rate);
    }
  }
  out.sort((a, b) => a.ts - b.ts);
  return out;
}

type Q = { qname: string; qtype: number; kind: BenignKind };

function desktopQuery(
  rng: Random,
  sites: string[],
  favourites: string[],
  companies: string[],
  av: BenignKind | undefined,
): Q[] {
  const r = rng.next();
  if (r < 0.55) return webQuery(rng, sites, favourites);
  if (r < 0.63) return [cdnQuery(rng)];
  if (r < 0.67) return [cloudQuery(rng)];
  if (r < 0.79) return av === undefined ? webQuery(rng, sites, favourites) : [avQuery(rng, av)];
  if (r < 0.82) return [ptrQuery(rng)];
  if (r < 0.85) return [dkimSrvQuery(rng, companies)];
  if (r < 0.87) return chromeProbes(rng);
  if (r < 0.93) return [multiTenantQuery(rng)];
  return [safeframeQuery(rng)];
}

function mailQuery(rng: Random, companies: string[]): Q[] {
  const r = rng.next();
  if (r < 0.6) return dnsblQueries(rng, companies);
  if (r < 0.8) return [ptrQuery(rng)];
  const domain = rng.pick(companies);
  if (r < 0.9) return [{ qname: domain, qtype: 15, kind: 'web' }];
  return [{ qname: domain, qtype: 16, kind: 'dkim-srv' }];
}

function webQuery(rng: Random, sites: string[], favourites: string[]): Q[] {
  const r = rng.next();
  if (r < 0.3) {
    const domain = rng.pick(POPULAR);
    const host = rng.pick(POPULAR_HOSTS[domain] ?? HOST_LABELS);
    return [{ qname: `${host}.${domain}`, qtype: rng.next() < 0.7 ? 1 : 28, kind: 'web' }];
  }
  const site = r < 0.75 ? rng.pick(favourites) : rng.zipf(sites);
  const out: Q[] = [{ qname: rng.next() < 0.5 ? `www.${site}` : site, qtype: 1, kind: 'web' }];
  if (rng.next() < 0.5) out.push({ qname: `www.${site}`, qtype: 65, kind: 'web' });
  if (rng.next() < 0.4) out.push({ qname: `${rng.pick(HOST_LABELS)}.${site}`, qtype: 1, kind: 'web' });
  if (rng.next() < 0.1)
    out.push({ qname: `${rng.pick(HOST_LABELS)}.${rng.pick(HOST_LABELS)}.${site}`, qtype: 28, kind: 'web' });
  return out;
}

function cdnQuery(rng: Random): Q {
  const r = rng.next();
  let qname: string;
  if (r < 0.2) qname = `d${rng.chars(ALNUM, 13)}.cloudfront.net`;
  else if (r < 0.35) qname = `e${rng.int(1000, 99999)}.${rng.pick(['a', 'b', 'dscb', 'dsca', 'x'])}.akamaiedge.net`;
  else if (r < 0.5) qname = `rr${rng.int(1, 8)}---sn-${rng.chars(ALNUM, 4)}${rng.chars(ALNUM, 4)}.googlevideo.com`;
  else if (r < 0.6)
    qname = `scontent-${rng.chars('abcdefghijklmnopqrstuvwxyz', 3)}${rng.int(1, 3)}-${rng.int(1, 2)}.xx.fbcdn.net`;
  else if (r < 0.7) qname = `a${rng.int(100, 9999)}.dscg${rng.int(1, 3)}.akamai.net`;
  else if (r < 0.8)
    qname = `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-${rng.chars(HEX, 4)}-${rng.chars(HEX, 4)}-${rng.chars(HEX, 12)}.server-${rng.int(1, 120)}.${rng.pick(['trafficmanager.net', 'cdn77.org', 'edgekey.net'])}`;
  else if (r < 0.9)
    qname = `${pseudoWord(rng)}-${rng.int(100000000, 999999999)}.${rng.pick(['eu-central-1', 'us-east-1', 'eu-west-1'])}.elb.amazonaws.com`;
  else
    qname = `img${rng.int(1, 9)}.${rng.chars(HEX, 6)}.${rng.pick(['azureedge.net', 'fastly.net', 'edgecastcdn.net'])}`;
  return { qname, qtype: rng.next() < 0.8 ? 1 : 28, kind: 'cdn' };
}

function cloudQuery(rng: Random): Q {
  const r = rng.next();
  let qname: string;
  if (r < 0.3) qname = `${siteName(rng)}-${rng.pick(['assets', 'backup', 'media', 'prod'])}.s3.amazonaws.com`;
  else if (r < 0.55)
    qname = `ec2-${rng.int(1, 254)}-${rng.int(0, 255)}-${rng.int(0, 255)}-${rng.int(1, 254)}.compute-1.amazonaws.com`;
  else if (r < 0.75)
    qname = `${pseudoWord(rng)}-${rng.pick(['prod', 'neu', 'weu'])}-${rng.chars(ALNUM, 1)}.${rng.pick(['northeurope', 'westeurope', 'eastus'])}.cloudapp.azure.com`;
  else qname = `prod${rng.int(1, 3)}.${rng.pick(WORDS)}${rng.pick(['service', 'api', 'editor'])}.osi.office.net`;
  return { qname, qtype: 1, kind: 'cloud' };
}

function avQuery(rng: Random, vendor: BenignKind): Q {
  if (vendor === 'av-mcafee') {
    const kind = rng.next() < 0.8 ? 'avqs' : 'avts';
    const head = `${rng.pick(['c', 'i', 'a.c'])}-0.19-a${rng.int(1000000, 9999999)}.${rng.int(0, 9999999)}.${rng.pick(['1644', '1838'])}.${rng.chars(HEX, rng.int(3, 4))}.${rng.chars(HEX, 4)}.${rng.pick(['410', '210', '410a'])}.${rng.int(0, 400)}`;
    return {
      qname: `${head}.${rng.chars('0123456789abcdefghijklmnopqrstuv', 26)}.${kind}.mcafee.com`,
      qtype: 1,
      kind: vendor,
    };
  }
  if (vendor === 'av-eset') {
    if (rng.next() < 0.85) return { qname: `${rng.chars(BASE32, 26)}bqeaqbaeaq.a.e.e5.sk`, qtype: 1, kind: vendor };
    return { qname: `${rng.chars(BASE32, 63)}.${rng.chars(BASE32, 44)}.a.j.e5.sk`, qtype: 1, kind: vendor };
  }
  if (vendor === 'av-sophos')
    return {
      qname: `${rng.chars(HEX, 32)}.${rng.int(0, 3)}.${rng.pick(['p', 'f', 'u'])}.00.sophosxl.net`,
      qtype: 1,
      kind: vendor,
    };
  if (rng.next() < 0.6) return { qname: 'ksn-crypto-a-stat-geo.kaspersky-labs.com', qtype: 1, kind: vendor };
  return { qname: `${rng.chars(HEX, 32)}.ksn-file-${rng.int(1, 4)}.kaspersky-labs.com`, qtype: 1, kind: vendor };
}

function reversedIp(rng: Random): string {
  return `${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 223)}`;
}

function dnsblQueries(rng: Random, companies: string[]): Q[] {
  const ip = reversedIp(rng);
  const out: Q[] = [
    { qname: `${ip}.zen.spamhaus.org`, qtype: 1, kind: 'dnsbl' },
    { qname: `${ip}.b.barracudacentral.org`, qtype: 1, kind: 'dnsbl' },
  ];
  if (rng.next() < 0.5) out.push({ qname: `${ip}.bl.spamcop.net`, qtype: 1, kind: 'dnsbl' });
  if (rng.next() < 0.5) out.push({ qname: `${rng.pick(companies)}.dbl.spamhaus.org`, qtype: 1, kind: 'dnsbl' });
  if (rng.next() < 0.3) out.push({ qname: `${ip}.zen.spamhaus.org`, qtype: 16, kind: 'dnsbl' });
  return out;
}

function ptrQuery(rng: Random): Q {
  if (rng.next() < 0.8) return { qname: `${reversedIp(rng)}.in-addr.arpa`, qtype: 12, kind: 'ptr' };
  const address = `20010db8${rng.chars(HEX, 8)}${rng.chars(HEX, 16)}`;
  return { qname: `${[...address].reverse().join('.')}.ip6.arpa`, qtype: 12, kind: 'ptr' };
}

function dkimSrvQuery(rng: Random, companies: string[]): Q {
  const company = rng.pick(companies);
  const r = rng.next();
  if (r < 0.3)
    return {
      qname: `${rng.pick(['selector1', 'selector2', 'google', 's1', 'k1', 'dkim'])}._domainkey.${company}`,
      qtype: 16,
      kind: 'dkim-srv',
    };
  if (r < 0.45) {
    const tenant = company.split('.')[0].replace(/[^a-z0-9]/g, '');
    return {
      qname: `selector1-${tenant}-onmicrosoft-com._domainkey.${tenant}.onmicrosoft.com`,
      qtype: 16,
      kind: 'dkim-srv',
    };
  }
  if (r < 0.6) return { qname: `_dmarc.${company}`, qtype: 16, kind: 'dkim-srv' };
  if (r < 0.8)
    return {
      qname: `_${rng.pick(['ldap', 'kerberos', 'gc'])}._tcp.${rng.pick(['dc', 'default-first-site-name._sites.dc', 'pdc'])}._msdcs.${company}`,
      qtype: 33,
      kind: 'dkim-srv',
    };
  return {
    qname: `_${rng.pick(['sip', 'sipfederationtls', 'xmpp-client', 'imaps', 'submission'])}._${rng.pick(['tcp', 'tls'])}.${company}`,
    qtype: 33,
    kind: 'dkim-srv',
  };
}

function chromeProbes(rng: Random): Q[] {
  return [0, 1, 2].map(() => ({
    qname: rng.chars('abcdefghijklmnopqrstuvwxyz', rng.int(7, 15)),
    qtype: 1,
    kind: 'chrome-probe' as const,
  }));
}

function multiTenantQuery(rng: Random): Q {
  const r = rng.next();
  if (r < 0.35) return { qname: `${pseudoWord(rng)}${rng.int(0, 99)}.github.io`, qtype: 1, kind: 'multi-tenant' };
  if (r < 0.65)
    return {
      qname: `${rng.pick(WORDS)}-${pseudoWord(rng)}-${rng.chars(ALNUM, 9)}.vercel.app`,
      qtype: 1,
      kind: 'multi-tenant',
    };
  if (r < 0.85) return { qname: `${pseudoWord(rng)}-${rng.pick(WORDS)}.netlify.app`, qtype: 1, kind: 'multi-tenant' };
  return { qname: `${pseudoWord(rng)}-${rng.chars(HEX, 12)}.herokuapp.com`, qtype: 1, kind: 'multi-tenant' };
}

function safeframeQuery(rng: Random): Q {
  return { qname: `${rng.chars(HEX, 32)}.safeframe.googlesyndication.com`, qtype: 1, kind: 'safeframe' };
}
