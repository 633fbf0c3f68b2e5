/** Builders for test packets, on top of the dns-packet codec. */
import * as dnsPacket from 'dns-packet';

export function encodeQuery(
  name: string,
  type: dnsPacket.RecordType = 'A',
  opts: { id?: number; edns?: boolean; udpPayload?: number; dnssecOk?: boolean; cd?: boolean; rd?: boolean } = {},
): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (opts.edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: opts.udpPayload ?? 1232,
      flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
      options: [],
    } as unknown as dnsPacket.Answer);
  }
  let flags = opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED;
  if (opts.cd) flags |= dnsPacket.CHECKING_DISABLED;
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags,
    questions: [{ type, name, class: 'IN' }],
    additionals,
  });
}

/** A raw header: id, flags, and the four section counts. */
export function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
  return b;
}

export function labels(...parts: (string | Buffer)[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
    out.push(Buffer.from([b.length]), b);
  }
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

export const A_IN = Buffer.from([0, 1, 0, 1]);
