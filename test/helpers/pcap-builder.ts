/** Captures built byte by byte (pcap, and the IP/UDP/TCP and link-layer frames in them), for the reader's tests and analyze's. */
export function udp(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(srcPort, 0);
  h.writeUInt16BE(dstPort, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function tcp(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(srcPort, 0);
  h.writeUInt16BE(dstPort, 2);
  h[12] = 5 << 4;
  return Buffer.concat([h, payload]);
}

export function ipv4(protocol: number, body: Buffer, src = [192, 0, 2, 1], dst = [192, 0, 2, 53]): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h[8] = 64;
  h[9] = protocol;
  h.set(src, 12);
  h.set(dst, 16);
  return Buffer.concat([h, body]);
}

export function ipv6(next: number, body: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(body.length, 4);
  h[6] = next;
  h[7] = 64;
  h[8] = 0x20;
  h[9] = 0x01;
  h[10] = 0x0d;
  h[11] = 0xb8;
  h[23] = 1; // 2001:db8::1
  h[24] = 0x20;
  h[25] = 0x01;
  h[26] = 0x0d;
  h[27] = 0xb8;
  h[39] = 0x35; // 2001:db8::35
  return Buffer.concat([h, body]);
}

export const ethernet = (etherType: number, payload: Buffer, vlan = false) => {
  const h = Buffer.alloc(vlan ? 18 : 14);
  if (vlan) {
    h.writeUInt16BE(0x8100, 12);
    h.writeUInt16BE(42, 14);
    h.writeUInt16BE(etherType, 16);
  } else h.writeUInt16BE(etherType, 12);
  return Buffer.concat([h, payload]);
};
export const sll = (etherType: number, payload: Buffer) => {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(etherType, 14);
  return Buffer.concat([h, payload]);
};
export const sll2 = (etherType: number, payload: Buffer) => {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(etherType, 0);
  return Buffer.concat([h, payload]);
};
export const loopback = (family: number, payload: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(family, 0);
  return Buffer.concat([h, payload]);
};

export function pcap(linkType: number, frames: Buffer[], nano = false): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(linkType, 20);
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(nano ? 500_000_000 : 500_000, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([header, ...records]);
}
