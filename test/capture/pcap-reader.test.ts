/**
 * The capture reader against captures built here byte by byte (the public corpora are not
 * needed for tests). Against real captures, the reader's query counts matched tshark's
 * (queries.csv in ../shared/datasets/graphtunnel) exactly; see src/capture/README.md.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { nameToString } from '../../src/dns/name.js';
import { encodeQuery } from '../helpers/packets.js';
import { ethernet, ipv4, ipv6, loopback, pcap, sll, sll2, tcp, udp } from '../helpers/pcap-builder.js';

function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const b = Buffer.alloc(12 + padded.length);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(b.length, 4);
  padded.copy(b, 8);
  b.writeUInt32LE(b.length, b.length - 4);
  return b;
}

function pcapng(linkType: number, frames: Buffer[]): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const shbBlock = block(0x0a0d0d0a, shb);
  const idb = Buffer.alloc(8 + 8);
  idb.writeUInt16LE(linkType, 0);
  idb.writeUInt32LE(65535, 4);
  idb.writeUInt16LE(9, 8); // if_tsresol
  idb.writeUInt16LE(1, 10);
  idb[12] = 9; // nanoseconds
  const epbs = frames.map((f) => {
    const e = Buffer.alloc(20);
    const ticks = 1_700_000_000n * 1_000_000_000n + 250_000_000n;
    e.writeUInt32LE(0, 0);
    e.writeUInt32LE(Number(ticks >> 32n), 4);
    e.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
    e.writeUInt32LE(f.length, 12);
    e.writeUInt32LE(f.length, 16);
    return block(6, Buffer.concat([e, f]));
  });
  return Buffer.concat([shbBlock, block(1, idb), ...epbs]);
}

const q = (name: string) => encodeQuery(name, 'TXT');
const names = (buf: Buffer) => readCapture(buf).messages.map((m) => nameToString(m.message, 12));

describe('capture reader', () => {
  it('reads Ethernet (with a VLAN tag), IPv4 and IPv6, UDP and TCP', () => {
    const frames = [
      ethernet(0x0800, ipv4(17, udp(40000, 53, q('a.example')))),
      ethernet(0x0800, ipv4(17, udp(40001, 53, q('b.example'))), true),
      ethernet(0x86dd, ipv6(17, udp(40002, 53, q('c.example')))),
      ethernet(
        0x0800,
        ipv4(
          6,
          tcp(
            40003,
            53,
            Buffer.concat([
              Buffer.from([0, q('d.example').length]),
              q('d.example'),
              Buffer.from([0, q('e.example').length]),
              q('e.example'),
            ]),
          ),
        ),
      ),
      ethernet(0x0800, ipv4(17, udp(40004, 443, Buffer.from('not dns')))),
    ];
    const r = readCapture(pcap(1, frames));
    assert.deepEqual(
      r.messages.map((m) => nameToString(m.message, 12)),
      ['a.example', 'b.example', 'c.example', 'd.example', 'e.example'],
    );
    assert.equal(r.messages[2].src, '2001:db8::1');
    assert.equal(r.messages[0].dst, '192.0.2.53');
    assert.equal(r.messages[3].transport, 'tcp');
    assert.equal(r.skipped, 1);
    assert.equal(r.messages[1].ts, 1_700_000_001.5);
  });

  it('reads Linux cooked v1 and v2, raw IP and BSD loopback, and nanosecond pcap', () => {
    assert.deepEqual(names(pcap(113, [sll(0x0800, ipv4(17, udp(1, 53, q('sll.example'))))])), ['sll.example']);
    assert.deepEqual(names(pcap(276, [sll2(0x86dd, ipv6(17, udp(1, 53, q('sll2.example'))))])), ['sll2.example']);
    assert.deepEqual(names(pcap(101, [ipv4(17, udp(1, 53, q('raw.example')))])), ['raw.example']);
    assert.deepEqual(names(pcap(0, [loopback(2, ipv4(17, udp(1, 53, q('lo.example'))))])), ['lo.example']);
    const nano = readCapture(pcap(101, [ipv4(17, udp(1, 53, q('n.example')))], true));
    assert.equal(nano.messages[0].ts, 1_700_000_000.5);
  });

  it('reads pcapng with nanosecond timestamps', () => {
    const r = readCapture(pcapng(1, [ethernet(0x0800, ipv4(17, udp(5353, 53, q('ng.example'))))]));
    assert.deepEqual(
      r.messages.map((m) => nameToString(m.message, 12)),
      ['ng.example'],
    );
    assert.equal(r.messages[0].ts, 1_700_000_000.25);
  });

  it('counts truncated captures and odd frames instead of throwing', () => {
    const whole = pcap(1, [
      ethernet(0x0800, ipv4(17, udp(1, 53, q('x.example')))),
      ethernet(0x0800, ipv4(17, udp(1, 53, q('y.example')))),
    ]);
    for (let cut = 0; cut < whole.length; cut += 7) {
      const r = readCapture(whole.subarray(0, cut));
      assert.ok(r.messages.length <= 2);
    }
    assert.ok(readCapture(whole.subarray(0, whole.length - 3)).malformed >= 1);
    const odd = readCapture(pcap(1, [Buffer.alloc(5), ethernet(0x0800, Buffer.from([0x45, 0]))]));
    assert.equal(odd.malformed, 2);
    assert.deepEqual(readCapture(pcap(147, [Buffer.alloc(30)])).unsupportedLinkTypes, [147]);
  });
});
