/**
 * A 5G core's zone (NAPTR, SRV, MX, PTR, TXT, wildcards, empty non-terminals, CNAME chains in and
 * out of the zone) and the questions that probe it: shared by the NSD differential test and the
 * zone benchmark (bench/zone-bench.ts).
 */
export const FIVE_G_ZONE = `$ORIGIN 5gc.example.
$TTL 300
@   IN SOA ns1 hostmaster (
        2026120301 ; serial
        3600 900 604800 60 )
    IN NS ns1
ns1 IN A 192.0.2.53
nrf     IN A 192.0.2.10
        IN A 192.0.2.11
        IN AAAA 2001:db8::10
amf1 600 IN A 192.0.2.20
smf IN CNAME smf-set
smf-set IN CNAME smf1
smf1 IN A 192.0.2.30
loop1 CNAME loop2
loop2 CNAME loop1
dangling CNAME nowhere
to-wild CNAME x.upf
_nrf._tcp IN SRV 10 60 8080 nrf
_nrf._tcp IN SRV 20 40 8080 nrf2.5gc.example.
nrf2 A 192.0.2.12
@ IN NAPTR 100 50 "a" "x-3gpp-amf:x-n2" "" amf1
@ IN NAPTR 200 50 "s" "x-3gpp-nrf:x-nnrf" "" _nrf._tcp
*.upf IN A 192.0.2.40
*.upf IN TXT "wildcard upf" "second string"
fixed.upf IN A 192.0.2.41
ext IN CNAME www.other.example.
mail IN MX 10 nrf
10 IN PTR nrf   ; a relative numeric owner
a.b.c IN TXT "deep"
utf IN TXT "café \\059 \\"q\\"" ; UTF-8 bytes and escapes
`;

export const PROBES: Array<[string, string]> = [
  ['5gc.example', 'NAPTR'],
  ['5gc.example', 'SOA'],
  ['5gc.example', 'NS'],
  ['5gc.example', 'A'],
  ['_nrf._tcp.5gc.example', 'SRV'],
  ['_nrf._tcp.5gc.example', 'A'],
  ['nrf.5gc.example', 'A'],
  ['NrF.5Gc.ExAmple', 'AAAA'],
  ['nrf.5gc.example', 'MX'],
  ['amf1.5gc.example', 'A'],
  ['smf.5gc.example', 'A'],
  ['smf.5gc.example', 'CNAME'],
  ['smf.5gc.example', 'TXT'],
  ['loop1.5gc.example', 'A'],
  ['dangling.5gc.example', 'A'],
  ['to-wild.5gc.example', 'TXT'],
  ['ext.5gc.example', 'A'],
  ['x.upf.5gc.example', 'A'],
  ['x.upf.5gc.example', 'TXT'],
  ['x.upf.5gc.example', 'AAAA'],
  ['a.b.upf.5gc.example', 'A'],
  ['fixed.upf.5gc.example', 'A'],
  ['fixed.upf.5gc.example', 'TXT'],
  ['upf.5gc.example', 'A'],
  ['sub.fixed.upf.5gc.example', 'A'],
  ['mail.5gc.example', 'MX'],
  ['10.5gc.example', 'PTR'],
  ['b.c.5gc.example', 'TXT'],
  ['c.5gc.example', 'A'],
  ['a.b.c.5gc.example', 'TXT'],
  ['utf.5gc.example', 'TXT'],
  ['nothere.5gc.example', 'A'],
  ['deep.nothere.5gc.example', 'NAPTR'],
  ['nrf.5gc.example', 'NAPTR'],
];
