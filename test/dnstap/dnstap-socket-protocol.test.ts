/**
 * dnstap's SocketProtocol for encrypted transports (dnstap.proto: UDP 1, TCP 2, DOT 3, DOH 4).
 * Debian's dnstap-ldns only names UDP and TCP, so the field is read from the wire here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnstapType, encodeDnstap } from '../../src/dnstap/dnstap-message.js';

/** The Message's socket_protocol (field 3), walking the protobuf fields of the payload's field 14. */
function socketProtocol(payload: Buffer): number {
  const fields = (buf: Buffer): Map<number, Buffer | number> => {
    const out = new Map<number, Buffer | number>();
    let pos = 0;
    const varint = (): number => {
      let v = 0;
      for (let shift = 0; ; shift += 7) {
        const b = buf[pos++];
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return v;
      }
    };
    while (pos < buf.length) {
      const tag = varint();
      const wire = tag & 7;
      if (wire === 0) out.set(tag >> 3, varint());
      else if (wire === 2) {
        const len = varint();
        out.set(tag >> 3, buf.subarray(pos, pos + len));
        pos += len;
      } else if (wire === 5) pos += 4;
      else throw new Error(`wire type ${wire}`);
    }
    return out;
  };
  return fields(fields(payload).get(14) as Buffer).get(3) as number;
}

describe('dnstap socket protocol', () => {
  for (const [transport, expected] of [
    ['udp', 1],
    ['tcp', 2],
    ['tls', 3],
    ['https', 4],
  ] as const) {
    it(`${transport} is ${expected}`, () => {
      const payload = encodeDnstap(Buffer.from('id'), Buffer.from('v'), {
        type: DnstapType.CLIENT_QUERY,
        transport,
        clientAddress: Buffer.from([127, 0, 0, 1]),
        clientPort: 5300,
        queryTimeMs: Date.now(),
      });
      assert.equal(socketProtocol(payload), expected);
    });
  }
});
