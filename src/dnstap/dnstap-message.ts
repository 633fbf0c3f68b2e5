/**
 * dnstap payloads (dnstap.proto, proto2): a hand-written protobuf encoder for the few fields
 * dnsward fills in, so no protobuf runtime sits in the process. Checked against Debian's
 * dnstap-ldns (protobuf-c) in the integration test.
 */

export const DnstapType = { CLIENT_QUERY: 5, CLIENT_RESPONSE: 6 } as const;
const SocketFamily = { INET: 1, INET6: 2 } as const;
// dnstap.proto's SocketProtocol: DOT = 3, DOH = 4.
const SocketProtocol = { udp: 1, tcp: 2, tls: 3, https: 4 } as const;
export const PolicyAction = { NXDOMAIN: 1, NODATA: 2, PASS: 3, DROP: 4, TRUNCATE: 5, LOCAL_DATA: 6 } as const;
const PolicyMatch = { QNAME: 1, CLIENT_IP: 2 } as const;

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_BYTES = 2;

/** Appends protobuf fields to a growable buffer. */
class ProtoWriter {
  buf: Buffer;
  pos = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(10);
    // Numbers here stay below 2^53; split to keep the arithmetic exact above 2^31.
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  uint(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }
  fixed32(field: number, v: number): void {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export interface DnstapPolicy {
  type: string;
  rule: string;
  action?: number;
}

export interface ClientMessage {
  type: number;
  transport: keyof typeof SocketProtocol;
  /** 4 or 16 bytes. */
  clientAddress: Buffer;
  clientPort: number;
  /** Milliseconds since the epoch (fractional). */
  queryTimeMs: number;
  responseTimeMs?: number;
  query?: Uint8Array;
  response?: Uint8Array;
  policy?: DnstapPolicy;
}

function time(w: ProtoWriter, secField: number, nsecField: number, ms: number): void {
  const sec = Math.floor(ms / 1000);
  w.uint(secField, sec);
  w.fixed32(nsecField, Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)));
}

/** One Dnstap payload (type MESSAGE) carrying one Message. */
export function encodeDnstap(identity: Buffer, version: Buffer, m: ClientMessage, extra?: Buffer): Buffer {
  const msg = new ProtoWriter(64 + (m.query?.length ?? 0) + (m.response?.length ?? 0));
  msg.uint(1, m.type);
  msg.uint(2, m.clientAddress.length === 16 ? SocketFamily.INET6 : SocketFamily.INET);
  msg.uint(3, SocketProtocol[m.transport]);
  msg.bytes(4, m.clientAddress);
  msg.uint(6, m.clientPort);
  time(msg, 8, 9, m.queryTimeMs);
  if (m.query) msg.bytes(10, m.query);
  if (m.responseTimeMs !== undefined) time(msg, 12, 13, m.responseTimeMs);
  if (m.response) msg.bytes(14, m.response);
  if (m.policy) {
    const p = new ProtoWriter(64);
    p.bytes(1, Buffer.from(m.policy.type));
    p.bytes(2, Buffer.from(m.policy.rule));
    if (m.policy.action !== undefined) p.uint(3, m.policy.action);
    p.uint(4, m.policy.type === 'quarantine' ? PolicyMatch.CLIENT_IP : PolicyMatch.QNAME);
    msg.bytes(15, p.done());
  }
  const body = msg.done();
  const top = new ProtoWriter(body.length + identity.length + version.length + (extra?.length ?? 0) + 16);
  if (identity.length) top.bytes(1, identity);
  if (version.length) top.bytes(2, version);
  if (extra) top.bytes(3, extra);
  top.bytes(14, body);
  top.uint(15, 1);
  return top.done();
}
