/**
 * Generated DNS traffic of one enterprise web proxy over a day: a single client that resolves
 * whatever a few thousand users browse. Its own DNS cache hides most repeats, so what reaches the
 * forwarder is mostly names it has not asked for a while:
 *
 * - sites: tens of thousands of registered domains (`www.`, `m.`, a few host labels each);
 * - CDN edge names with hashes (`<hex>.<edge>.<cdn>`, `d<alnum13>.<cdn>`, `<word>-<digits>.<lb>`);
 * - ad and tracker names: hex bid and sync ids, `pixel-<n>`, cookie-sync hosts per partner;
 * - SaaS tenants (`<tenant>.<suite>`, `<tenant>-my.<suite>`, `<tenant>-files.<suite>`);
 * - long but legitimate names (multi-label regional API and storage hosts of cloud services).
 *
 * Every CDN, ad, SaaS and cloud name here is invented (the detector must not know them).
 * Deterministic for a seed; `npm run eval` uses a seed the prior was never trained on.
 */
import { ALNUM, HEX, Random } from './random.js';
import { HOST_LABELS, pseudoWord, siteName, TLDS, WORDS } from './vocabulary.js';
import type { GeneratedQuery } from './benign-traffic.js';

export type WebProxyKind = 'proxy-site' | 'proxy-cdn' | 'proxy-ads' | 'proxy-saas' | 'proxy-long';

export interface WebProxyOptions {
  seed: number;
  client: string;
  start: number;
  durationSeconds: number;
  /** Queries reaching the forwarder per hour at the busiest hour (the proxy's cache misses). */
  queriesPerHour: number;
}

const CDNS = ['edgeplex-cdn.net', 'fastcache-edge.com', 'cdnorbit.net', 'swiftedge-static.com', 'nimbus-cdn.io'];
const AD_NETWORKS = [
  'adquanta.com',
  'bidstreamer.net',
  'clickmetrix.com',
  'trackvista.io',
  'syncpixel-ads.com',
  'openbid-exchange.net',
  'audiencegraph.com',
  'retargetly-cdn.net',
];
const SAAS = [
  'docushare-online.com',
  'teamsuite-cloud.com',
  'crmforce-apps.com',
  'helpdeskly.com',
  'wikispace-cloud.net',
  'hrportal-online.com',
];
const CLOUDS = ['cloudvantage.com', 'azurite-services.net', 'stratocloud-api.com'];
const REGIONS = ['eu-central-1', 'eu-west-1', 'us-east-1', 'us-west-2', 'ap-southeast-1', 'westeurope', 'northeurope'];

export function generateWebProxyTraffic(o: WebProxyOptions): GeneratedQuery[] {
  const rng = new Random(o.seed);
  const sites = Array.from({ length: 30000 }, () => `${siteName(rng)}.${rng.pick(TLDS)}`);
  const tenants = Array.from(
    { length: 600 },
    () => `${rng.next() < 0.5 ? rng.pick(WORDS) : ''}${pseudoWord(rng)}${rng.next() < 0.2 ? rng.int(1, 99) : ''}`,
  );
  const out: GeneratedQuery[] = [];
  const push = (ts: number, qname: string, qtype: number, kind: WebProxyKind) =>
    out.push({ ts, client: o.client, qname, qtype, kind });
  let ts = o.start;
  while (ts < o.start + o.durationSeconds) {
    // Office hours carry most traffic; nights keep a tenth (updates, a few late users).
    const hour = ((ts - o.start) / 3600 + 8) % 24;
    const load = hour >= 8 && hour < 19 ? 1 : 0.1;
    const r = rng.next();
    if (r < 0.5) {
      const site = rng.zipf(sites);
      push(ts, rng.next() < 0.5 ? `www.${site}` : site, 1, 'proxy-site');
      if (rng.next() < 0.5) push(ts, `www.${site}`, 28, 'proxy-site');
      if (rng.next() < 0.3) push(ts, `${rng.pick(HOST_LABELS)}.${site}`, 1, 'proxy-site');
    } else if (r < 0.68) push(ts, cdnName(rng, sites), rng.next() < 0.8 ? 1 : 28, 'proxy-cdn');
    else if (r < 0.85) push(ts, adName(rng, sites), 1, 'proxy-ads');
    else if (r < 0.94) push(ts, saasName(rng, tenants), 1, 'proxy-saas');
    else push(ts, longName(rng, tenants), rng.next() < 0.7 ? 1 : 28, 'proxy-long');
    ts += rng.exp(3600 / (o.queriesPerHour * load));
  }
  return out;
}

function cdnName(rng: Random, sites: string[]): string {
  const cdn = rng.pick(CDNS);
  const r = rng.next();
  if (r < 0.25) return `d${rng.chars(ALNUM, 13)}.${cdn}`;
  if (r < 0.45) return `${rng.chars(HEX, 8)}.${rng.pick(['e1', 'e2', 'g', 'x'])}.${cdn}`;
  if (r < 0.6) return `${rng.zipf(sites).replaceAll('.', '-')}.${rng.pick(['edgekey', 'map', 'global'])}.${cdn}`;
  if (r < 0.75) return `img${rng.int(1, 9)}-${rng.chars(HEX, 6)}.${cdn}`;
  if (r < 0.9) return `${pseudoWord(rng)}-${rng.int(100000000, 999999999)}.${rng.pick(REGIONS)}.lb.${rng.pick(CLOUDS)}`;
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-${rng.chars(HEX, 4)}-${rng.chars(HEX, 4)}-${rng.chars(HEX, 12)}.${rng.pick(['afd', 'fd'])}.${cdn}`;
}

function adName(rng: Random, sites: string[]): string {
  const net = rng.pick(AD_NETWORKS);
  const r = rng.next();
  if (r < 0.3) return `${rng.chars(HEX, 32)}.safe.${net}`;
  if (r < 0.5) return `pixel-${rng.int(1, 40)}.${net}`;
  if (r < 0.65) return `sync-${rng.pick(AD_NETWORKS).split(/[.-]/)[0]}.${net}`;
  if (r < 0.8) return `${rng.chars(ALNUM, 10)}.bid.${rng.pick(['eu', 'us', 'ap'])}.${net}`;
  if (r < 0.9) return `tags-${rng.zipf(sites).split('.')[0]}.${net}`;
  return `c${rng.int(1, 9)}.${rng.chars(HEX, 16)}.${net}`;
}

function saasName(rng: Random, tenants: string[]): string {
  const tenant = rng.zipf(tenants);
  const suite = rng.pick(SAAS);
  const r = rng.next();
  if (r < 0.4) return `${tenant}.${suite}`;
  if (r < 0.6) return `${tenant}-my.${suite}`;
  if (r < 0.75) return `${tenant}-files.${suite}`;
  if (r < 0.9) return `${tenant}.${rng.pick(['eu', 'us'])}${rng.int(1, 4)}.${suite}`;
  return `${tenant}-${rng.chars(ALNUM, 6)}.preview.${suite}`;
}

function longName(rng: Random, tenants: string[]): string {
  const cloud = rng.pick(CLOUDS);
  const r = rng.next();
  if (r < 0.35)
    return `${rng.zipf(tenants)}${rng.pick(['prod', 'data', 'media', 'backup'])}${rng.int(1, 999)}.blob.${rng.pick(REGIONS)}.storage.${cloud}`;
  if (r < 0.6)
    return `${rng.pick(WORDS)}-${rng.pick(WORDS)}-${rng.pick(['service', 'api', 'gateway'])}-${rng.pick(['prod', 'staging'])}.${rng.pick(REGIONS)}.apps.${cloud}`;
  if (r < 0.8) return `${rng.zipf(tenants)}-${rng.chars(HEX, 10)}.${rng.pick(REGIONS)}.functions.${cloud}`;
  return `${rng.pick(['outlook', 'calendar', 'presence', 'notifications', 'substrate'])}.${rng.pick(['ha', 'ms', 'geo'])}.${rng.pick(REGIONS)}.${rng.pick(['teamsuite-cloud.com', 'docushare-online.com'])}`;
}
