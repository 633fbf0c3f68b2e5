/**
 * Well-known legitimate services that encode data in query names. The design allows a small,
 * documented list as extra evidence, never as the only defence: a domain here gets a larger
 * information budget (stage 3), but a client that pushes far more through it than the service
 * ever does is still blocked. Learning recognises such services without this list (many clients,
 * one stable template); the list only spares the first minutes before it has learned.
 */
const KNOWN_ENCODERS = new Map<string, string>(
  Object.entries({
    'mcafee.com': 'McAfee GTI file and URL reputation (*.avqs, *.avts)',
    'e5.sk': 'ESET LiveGrid reputation',
    'sophosxl.net': 'Sophos XL reputation',
    'kaspersky-labs.com': 'Kaspersky Security Network',
    'kaspersky.com': 'Kaspersky Security Network',
    'spamhaus.org': 'Spamhaus DNSBL (zen, sbl, xbl, dbl)',
    'spamhaus.net': 'Spamhaus DQS DNSBL',
    'spamcop.net': 'SpamCop DNSBL',
    'barracudacentral.org': 'Barracuda reputation DNSBL',
    'sorbs.net': 'SORBS DNSBL',
    'surbl.org': 'SURBL URI blocklist',
    'uribl.com': 'URIBL URI blocklist',
    'mailspike.net': 'Mailspike DNSBL',
    'senderscore.com': 'Validity Sender Score',
    'dnswl.org': 'DNSWL allowlist',
    'in-addr.arpa': 'IPv4 reverse lookups',
    'ip6.arpa': 'IPv6 reverse lookups',
    'team-cymru.com': 'Team Cymru IP-to-ASN and malware hash lookups',
    'cymru.com': 'Team Cymru IP-to-ASN and malware hash lookups',
  }),
);

/** Why a registered domain is a known legitimate encoder, or undefined. */
export function knownEncoder(registeredDomain: string): string | undefined {
  return KNOWN_ENCODERS.get(registeredDomain);
}

export const knownEncoderCount = KNOWN_ENCODERS.size;
