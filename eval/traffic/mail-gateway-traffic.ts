/**
 * Generated DNS traffic of one enterprise mail gateway over a day: for each message received
 * it checks the sender the way a modern MTA does, and for each message sent it looks up the
 * recipient's transport policy. Every lookup names a protocol record of some other domain, so
 * one client asks for names under thousands of registered domains a day:
 *
 * - DKIM keys, in three shapes: ordinary selectors (`s1`, `google`, `20230601`); selectors that
 *   are 32-character random tokens, as bulk-mail services issue them; and tenant keys of
 *   multi-tenant mail providers, where each tenant has its own subdomain of the provider and a
 *   selector that spells the tenant's own domain (`selector1-contoso-com._domainkey.contoso.<provider>`).
 * - DMARC (`_dmarc`), SPF TXT and the `include:` targets of ESPs (`_spf.`, `spf.`, `_netblocks.`).
 * - MTA-STS (`_mta-sts` TXT, `mta-sts.` A), TLS-RPT (`_smtp._tls`), BIMI (`default._bimi`).
 * - DNSBL lookups of the connecting address (reversed IPv4 under a few DNSBL zones) and URIBL
 *   lookups of the domains linked from the body.
 *
 * Provider, ESP and blocklist names here are invented (eval data may look realistic; the
 * detector must not know them). Deterministic for a seed; the seed used by `npm run eval` is not
 * the prior's training seed, so the prior has never seen this traffic.
 */
import { ALNUM, Random } from './random.js';
import { siteName, TLDS, WORDS } from './vocabulary.js';
import type { GeneratedQuery } from './benign-traffic.js';

export type MailKind =
  | 'mail-dkim'
  | 'mail-dkim-tenant'
  | 'mail-dkim-random'
  | 'mail-dmarc'
  | 'mail-spf'
  | 'mail-mta-sts'
  | 'mail-tls-rpt'
  | 'mail-bimi'
  | 'mail-dnsbl'
  | 'mail-uribl';

export interface MailGatewayOptions {
  seed: number;
  client: string;
  start: number;
  durationSeconds: number;
  /** Distinct sender domains in the pool (most of them send at least once a day). */
  senders: number;
  /** Messages received per hour, on average. */
  messagesPerHour: number;
}

/** Multi-tenant mail providers: each tenant gets `<tenant>.<provider>` (invented names). */
const PROVIDERS = ['tenantmail365.com', 'hostedmx-cloud.net', 'mailsuite-online.com'];
/** Bulk-mail services whose SPF includes senders name (invented). */
const ESPS = [
  'sendrocket.net',
  'bulkpost-mail.com',
  'mailcannon.io',
  'newsletterhub.com',
  'transmail-relay.net',
  'postfleet.com',
];
const DNSBL_ZONES = ['zen.spamblock.org', 'bl.mailshield-rbl.net', 'b.barrierlist.com', 'dnsbl.blockwatch.info'];
const URIBL_ZONES = ['multi.urlcheck-bl.com', 'dbl.spamblock.org'];
const PLAIN_SELECTORS = [
  's1',
  's2',
  'k1',
  'k2',
  'google',
  'selector1',
  'selector2',
  'default',
  'dkim',
  'mail',
  'smtp',
  'mx',
  'key1',
  'sig1',
  'pm',
  'mandrill',
  'scph0920',
];

type Style = 'plain' | 'random' | 'tenant';

interface Sender {
  domain: string;
  style: Style;
  selectors: string[];
  /** The tenant label and provider, for tenant senders. */
  tenant?: { label: string; provider: string };
  esps: string[];
  bimi: boolean;
}

export function generateMailGatewayTraffic(o: MailGatewayOptions): GeneratedQuery[] {
  const rng = new Random(o.seed);
  const senders: Sender[] = [];
  const names = new Set<string>();
  while (senders.length < o.senders) {
    const domain = `${rng.next() < 0.5 ? siteName(rng) : `${rng.pick(WORDS)}${siteName(rng)}`}.${rng.pick([...TLDS, 'com', 'com', 'co.uk', 'de'])}`;
    if (names.has(domain)) continue;
    names.add(domain);
    senders.push(makeSender(rng, domain));
  }
  const linkDomains = Array.from({ length: 2000 }, () => `${siteName(rng)}.${rng.pick(TLDS)}`);
  const out: GeneratedQuery[] = [];
  const push = (ts: number, qname: string, qtype: number, kind: MailKind) =>
    out.push({ ts, client: o.client, qname, qtype, kind });
  let ts = o.start + rng.exp(3600 / o.messagesPerHour);
  while (ts < o.start + o.durationSeconds) {
    // Most senders write a few times a day; a uniform pick over a large pool gives thousands of domains.
    const s = rng.pick(senders);
    let t = ts;
    const step = () => (t += rng.next() * 0.05);
    if (rng.next() < 0.8) {
      // Inbound: connection checks, then SPF, DKIM, DMARC, BIMI, then the body's links.
      const ip = `${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 223)}`;
      for (const zone of DNSBL_ZONES) if (rng.next() < 0.8) push(step(), `${ip}.${zone}`, 1, 'mail-dnsbl');
      push(step(), s.domain, 16, 'mail-spf');
      for (const esp of s.esps) {
        push(step(), `${rng.pick(['_spf', 'spf', '_spf.mail'])}.${esp}`, 16, 'mail-spf');
        if (rng.next() < 0.3) push(step(), `_netblocks${rng.int(1, 3)}.${esp}`, 16, 'mail-spf');
      }
      if (s.tenant !== undefined) push(step(), `spf.protection.${s.tenant.provider}`, 16, 'mail-spf');
      for (const selector of s.selectors) {
        if (s.style === 'tenant') {
          // The sender's own selector is a CNAME to the tenant's key at the provider; a forwarder sees both.
          push(
            step(),
            `${rng.next() < 0.5 ? 'selector1' : 'selector2'}._domainkey.${s.domain}`,
            16,
            'mail-dkim-tenant',
          );
          push(step(), `${selector}._domainkey.${s.tenant!.label}.${s.tenant!.provider}`, 16, 'mail-dkim-tenant');
        } else
          push(
            step(),
            `${selector}._domainkey.${s.domain}`,
            16,
            s.style === 'random' ? 'mail-dkim-random' : 'mail-dkim',
          );
      }
      push(step(), `_dmarc.${s.domain}`, 16, 'mail-dmarc');
      if (s.bimi) push(step(), `default._bimi.${s.domain}`, 16, 'mail-bimi');
      const links = rng.int(0, 3);
      for (let i = 0; i < links; i++) {
        const link = rng.next() < 0.3 ? s.domain : rng.zipf(linkDomains);
        push(step(), `${link}.${rng.pick(URIBL_ZONES)}`, 1, 'mail-uribl');
      }
    } else {
      // Outbound to this domain: MX, then its transport policy (MTA-STS) and report address (TLS-RPT).
      push(step(), s.domain, 15, 'mail-mta-sts');
      push(step(), `_mta-sts.${s.domain}`, 16, 'mail-mta-sts');
      if (rng.next() < 0.3) push(step(), `mta-sts.${s.domain}`, 1, 'mail-mta-sts');
      push(step(), `_smtp._tls.${s.domain}`, 16, 'mail-tls-rpt');
    }
    ts += rng.exp(3600 / o.messagesPerHour);
  }
  out.sort((a, b) => a.ts - b.ts);
  return out;
}

function makeSender(rng: Random, domain: string): Sender {
  const r = rng.next();
  const style: Style = r < 0.3 ? 'tenant' : r < 0.6 ? 'random' : 'plain';
  const esps = rng.next() < 0.6 ? [rng.pick(ESPS)] : [];
  if (rng.next() < 0.2) esps.push(rng.pick(ESPS));
  const bimi = rng.next() < 0.15;
  if (style === 'tenant') {
    const dashed = domain.replaceAll('.', '-');
    // Tenants pick their own label; usually the domain's first label, sometimes with a suffix.
    const label = domain.split('.')[0] + (rng.next() < 0.2 ? `${rng.int(1, 99)}` : '');
    return {
      domain,
      style,
      selectors: rng.next() < 0.5 ? [`selector1-${dashed}`] : [`selector1-${dashed}`, `selector2-${dashed}`],
      tenant: { label, provider: rng.pick(PROVIDERS) },
      esps,
      bimi,
    };
  }
  if (style === 'random') {
    // Bulk services sign with two or three keys, each a 32-character token.
    const n = rng.int(1, 3);
    return { domain, style, selectors: Array.from({ length: n }, () => rng.chars(ALNUM, 32)), esps, bimi };
  }
  const selector =
    rng.next() < 0.2
      ? `${rng.int(2019, 2026)}${String(rng.int(1, 12)).padStart(2, '0')}${String(rng.int(1, 28)).padStart(2, '0')}`
      : rng.pick(PLAIN_SELECTORS);
  return { domain, style, selectors: [selector], esps, bimi };
}
