/** Generated DNS-shaped inputs: a header with small section counts, then names and records of random bytes. */
import fc from 'fast-check';

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)])),
  fc
    .uint8Array({ minLength: 1, maxLength: 70 })
    .map((b) => Buffer.concat([Buffer.from([b[0]]), Buffer.from(b.subarray(1))])),
  fc.integer({ min: 0, max: 0xffff }).map((p) => Buffer.from([0xc0 | ((p >> 8) & 0x3f), p & 0xff])),
);
const name = fc.array(label, { maxLength: 6 }).map((ls) => Buffer.concat([...ls, Buffer.from([0])]));
const record = fc
  .tuple(
    name,
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.nat(),
    fc.uint8Array({ maxLength: 64 }),
    fc.boolean(),
  )
  .map(([n, type, klass, ttl, data, honestLength]) => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(klass, 2);
    fixed.writeUInt32BE(ttl >>> 0, 4);
    fixed.writeUInt16BE(honestLength ? data.length : ttl & 0xffff, 8);
    return Buffer.concat([n, fixed, Buffer.from(data)]);
  });

export function dnsMessage(response: boolean): fc.Arbitrary<Uint8Array> {
  const count = fc.integer({ min: 0, max: 4 });
  return fc
    .tuple(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      count,
      count,
      count,
      count,
      name,
      fc.integer({ min: 0, max: 0xffff }),
      fc.array(record, { maxLength: 5 }),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([id, flags, qd, an, ns, ar, qname, qtype, records, tail]) => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id, 0);
      h.writeUInt16BE(response ? flags | 0x8000 : flags & 0x7fff, 2);
      h.writeUInt16BE(qd, 4);
      h.writeUInt16BE(an, 6);
      h.writeUInt16BE(ns, 8);
      h.writeUInt16BE(ar, 10);
      const q = Buffer.alloc(4);
      q.writeUInt16BE(qtype, 0);
      q.writeUInt16BE(1, 2);
      return new Uint8Array(Buffer.concat([h, qname, q, ...records, Buffer.from(tail)]));
    });
}

/** Raw bytes or a DNS-shaped message. */
export const dnsInput = (response: boolean): fc.Arbitrary<Uint8Array> =>
  fc.oneof(fc.uint8Array({ maxLength: 600 }), dnsMessage(response), dnsMessage(!response));
