/**
 * The capture reader: counts what it cannot read and never throws (its contract), on any bytes.
 * Endless loops are caught by the runner's per-input time limit, not here.
 */
import fc from 'fast-check';
import { readCapture } from '../../src/capture/pcap-reader.js';
import { expect, type FuzzTarget } from './target.js';

const pcapHeader = fc
  .tuple(
    fc.constantFrom(0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1, 0x0a0d0d0a),
    fc.constantFrom(0, 1, 101, 113, 276, 12, 14, 108, 228, 229),
    fc.uint8Array({ maxLength: 400 }),
  )
  .map(([magic, link, rest]) => {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(magic, 0);
    h.writeUInt32LE(link, 20);
    return new Uint8Array(Buffer.concat([h, Buffer.from(rest)]));
  });

export const pcap: FuzzTarget = {
  name: 'pcap',
  maxLength: 16384,
  arbitrary: fc.oneof(pcapHeader, fc.uint8Array({ maxLength: 600 })),
  check(buf) {
    const r = readCapture(buf);
    expect(r.packets <= buf.length / 12, `${r.packets} packets from ${buf.length} bytes`);
    // Messages are slices of packets (a TCP segment may hold several): together no more than the capture.
    let bytes = 0;
    for (const m of r.messages) {
      expect(
        Number.isFinite(m.ts) && (m.transport === 'udp' || m.transport === 'tcp'),
        `message with ts ${m.ts}, transport ${m.transport}`,
      );
      bytes += m.message.length;
    }
    expect(bytes <= buf.length, `${bytes} bytes of messages from ${buf.length} bytes`);
  },
};
