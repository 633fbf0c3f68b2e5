/**
 * DNS messages out of packet captures, for `dnsward analyze`: classic pcap (micro- and
 * nanosecond, either byte order) and pcapng (SHB, IDB, EPB, SPB); link types Ethernet (with
 * 802.1Q tags), Linux cooked v1 and v2, raw IP and BSD/OpenBSD loopback; IPv4 and IPv6; DNS
 * over UDP and over TCP on port 53. Anything it cannot read is counted, never thrown.
 *
 * TCP: each segment's payload is read as whole length-prefixed messages; a message split across
 * segments is counted in `tcpSplit` and skipped (no stream reassembly yet).
 */
import { ipv6Text } from '../util/ip-text.js';

export interface CapturedMessage {
  /** Seconds since the epoch. */
  ts: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  transport: 'udp' | 'tcp';
  message: Buffer;
}

export interface CaptureResult {
  messages: CapturedMessage[];
  packets: number;
  /** Packets that were not DNS on port 53 (other traffic). */
  skipped: number;
  /** Records or headers that were cut short or made no sense. */
  malformed: number;
  tcpSplit: number;
  unsupportedLinkTypes: number[];
}

const DNS_PORT = 53;

export function readCapture(buf: Buffer): CaptureResult {
  const result: CaptureResult = {
    messages: [],
    packets: 0,
    skipped: 0,
    malformed: 0,
    tcpSplit: 0,
    unsupportedLinkTypes: [],
  };
  if (buf.length < 4) {
    result.malformed++;
    return result;
  }
  const magic = buf.readUInt32BE(0);
  if (magic === 0x0a0d0d0a) readPcapng(buf, result);
  else readPcap(buf, result);
  return result;
}

function readPcap(buf: Buffer, r: CaptureResult): void {
  if (buf.length < 24) {
    r.malformed++;
    return;
  }
  const magic = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    le = true;
    nano = magic === 0xa1b23c4d;
  } else if (buf.readUInt32BE(0) === 0xa1b2c3d4 || buf.readUInt32BE(0) === 0xa1b23c4d) {
    le = false;
    nano = buf.readUInt32BE(0) === 0xa1b23c4d;
  } else {
    r.malformed++;
    return;
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  let pos = 24;
  while (pos + 16 <= buf.length) {
    const seconds = u32(pos);
    const fraction = u32(pos + 4);
    const captured = u32(pos + 8);
    pos += 16;
    if (pos + captured > buf.length) {
      r.malformed++;
      return;
    }
    r.packets++;
    readFrame(buf.subarray(pos, pos + captured), linkType, seconds + fraction / (nano ? 1e9 : 1e6), r, le);
    pos += captured;
  }
  if (pos !== buf.length) r.malformed++;
}

interface PcapngInterface {
  linkType: number;
  /** Timestamp units per second. */
  resolution: number;
}

function readPcapng(buf: Buffer, r: CaptureResult): void {
  let pos = 0;
  let le = true;
  let interfaces: PcapngInterface[] = [];
  while (pos + 12 <= buf.length) {
    const type = le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
    if (type === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(pos + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else {
        r.malformed++;
        return;
      }
      interfaces = [];
    }
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const length = u32(pos + 4);
    if (length < 12 || length % 4 !== 0 || pos + length > buf.length) {
      r.malformed++;
      return;
    }
    const body = pos + 8;
    const end = pos + length - 4;
    if (type === 1) {
      interfaces.push({ linkType: u16(body), resolution: interfaceResolution(buf, body + 8, end, u16) });
    } else if (type === 6 && body + 20 <= end) {
      const iface = interfaces[u32(body)];
      const captured = u32(body + 12);
      r.packets++;
      if (!iface || body + 20 + captured > end) r.malformed++;
      else {
        // 64-bit tick counts exceed a double's 53 bits: divide as integers, then add the fraction.
        const ticks = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
        const resolution = BigInt(iface.resolution);
        const ts = Number(ticks / resolution) + Number(ticks % resolution) / iface.resolution;
        readFrame(buf.subarray(body + 20, body + 20 + captured), iface.linkType, ts, r, le);
      }
    } else if (type === 3 && body + 4 <= end) {
      const iface = interfaces[0];
      r.packets++;
      if (!iface) r.malformed++;
      else readFrame(buf.subarray(body + 4, end), iface.linkType, 0, r, le);
    }
    pos += length;
  }
  if (pos !== buf.length) r.malformed++;
}

/** if_tsresol option (code 9): 10^-n or 2^-n seconds; default microseconds. */
function interfaceResolution(buf: Buffer, pos: number, end: number, u16: (o: number) => number): number {
  while (pos + 4 <= end) {
    const code = u16(pos);
    const length = u16(pos + 2);
    if (code === 0) break;
    if (code === 9 && length >= 1) {
      const v = buf[pos + 4];
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    pos += 4 + ((length + 3) & ~3);
  }
  return 1e6;
}

function readFrame(frame: Buffer, linkType: number, ts: number, r: CaptureResult, littleEndianFile: boolean): void {
  let offset: number;
  let etherType: number;
  switch (linkType) {
    case 1: {
      // Ethernet
      if (frame.length < 14) return void r.malformed++;
      etherType = frame.readUInt16BE(12);
      offset = 14;
      while ((etherType === 0x8100 || etherType === 0x88a8) && offset + 4 <= frame.length) {
        etherType = frame.readUInt16BE(offset + 2);
        offset += 4;
      }
      break;
    }
    case 113: // Linux cooked v1
      if (frame.length < 16) return void r.malformed++;
      etherType = frame.readUInt16BE(14);
      offset = 16;
      break;
    case 276: // Linux cooked v2
      if (frame.length < 20) return void r.malformed++;
      etherType = frame.readUInt16BE(0);
      offset = 20;
      break;
    case 101:
    case 12:
    case 14: // raw IP
      if (frame.length < 1) return void r.malformed++;
      etherType = frame[0] >> 4 === 6 ? 0x86dd : 0x0800;
      offset = 0;
      break;
    case 0:
    case 108: {
      // BSD loopback: address family in host (0) or network (108) order
      if (frame.length < 4) return void r.malformed++;
      const family =
        linkType === 108 ? frame.readUInt32BE(0) : littleEndianFile ? frame.readUInt32LE(0) : frame.readUInt32BE(0);
      etherType = family === 2 ? 0x0800 : [24, 28, 30].includes(family) ? 0x86dd : 0;
      offset = 4;
      break;
    }
    default:
      if (!r.unsupportedLinkTypes.includes(linkType)) r.unsupportedLinkTypes.push(linkType);
      r.skipped++;
      return;
  }
  if (etherType === 0x0800) readIpv4(frame, offset, ts, r);
  else if (etherType === 0x86dd) readIpv6(frame, offset, ts, r);
  else r.skipped++;
}

function readIpv4(f: Buffer, o: number, ts: number, r: CaptureResult): void {
  if (o + 20 > f.length || f[o] >> 4 !== 4) return void r.malformed++;
  const headerLength = (f[o] & 0xf) * 4;
  const total = f.readUInt16BE(o + 2);
  const fragment = f.readUInt16BE(o + 6);
  if (headerLength < 20 || o + headerLength > f.length) return void r.malformed++;
  if (fragment & 0x1fff || fragment & 0x2000) return void r.skipped++; // fragments: not reassembled
  const end = Math.min(f.length, o + (total || f.length - o));
  const src = `${f[o + 12]}.${f[o + 13]}.${f[o + 14]}.${f[o + 15]}`;
  const dst = `${f[o + 16]}.${f[o + 17]}.${f[o + 18]}.${f[o + 19]}`;
  readTransport(f, f[o + 9], o + headerLength, end, src, dst, ts, r);
}

function readIpv6(f: Buffer, o: number, ts: number, r: CaptureResult): void {
  if (o + 40 > f.length || f[o] >> 4 !== 6) return void r.malformed++;
  const end = Math.min(f.length, o + 40 + f.readUInt16BE(o + 4));
  let next = f[o + 6];
  let pos = o + 40;
  // Skip hop-by-hop, routing and destination options; a fragment header means "not reassembled".
  while (next === 0 || next === 43 || next === 60) {
    if (pos + 8 > end) return void r.malformed++;
    next = f[pos];
    pos += (f[pos + 1] + 1) * 8;
  }
  if (next === 44) return void r.skipped++;
  readTransport(f, next, pos, end, ipv6Text(f, o + 8), ipv6Text(f, o + 24), ts, r);
}

function readTransport(
  f: Buffer,
  protocol: number,
  o: number,
  end: number,
  src: string,
  dst: string,
  ts: number,
  r: CaptureResult,
): void {
  if (protocol === 17) {
    if (o + 8 > end) return void r.malformed++;
    const srcPort = f.readUInt16BE(o);
    const dstPort = f.readUInt16BE(o + 2);
    if (srcPort !== DNS_PORT && dstPort !== DNS_PORT) return void r.skipped++;
    const udpEnd = Math.min(end, o + f.readUInt16BE(o + 4));
    r.messages.push({
      ts,
      src,
      dst,
      srcPort,
      dstPort,
      transport: 'udp',
      message: Buffer.from(f.subarray(o + 8, udpEnd)),
    });
    return;
  }
  if (protocol === 6) {
    if (o + 20 > end) return void r.malformed++;
    const srcPort = f.readUInt16BE(o);
    const dstPort = f.readUInt16BE(o + 2);
    if (srcPort !== DNS_PORT && dstPort !== DNS_PORT) return void r.skipped++;
    let pos = o + (f[o + 12] >> 4) * 4;
    while (pos + 2 <= end) {
      const length = f.readUInt16BE(pos);
      if (pos + 2 + length > end) {
        r.tcpSplit++;
        return;
      }
      r.messages.push({
        ts,
        src,
        dst,
        srcPort,
        dstPort,
        transport: 'tcp',
        message: Buffer.from(f.subarray(pos + 2, pos + 2 + length)),
      });
      pos += 2 + length;
    }
    return;
  }
  r.skipped++;
}
