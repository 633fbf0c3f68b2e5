/** EDNS Client Subnet (RFC 7871): the client network a downstream resolver says it asks for. */
import { ipv4Text, ipv6Text } from '../util/ip-text.js';

export interface ClientSubnet {
  /** The network address, host bits zero, as text. */
  address: string;
  bits: number;
  family: 4 | 6;
}

/**
 * The subnet in the ECS option at `offset` (the option's code, as the query parser notes it),
 * or null when the option is malformed or of an unknown family (RFC 7871 §7.1.1: then it is
 * not used).
 */
export function clientSubnetAt(buf: Uint8Array, offset: number, length: number): ClientSubnet | null {
  if (offset < 0 || length < 8) return null;
  const data = offset + 4;
  const family = (buf[data] << 8) | buf[data + 1];
  const bits = buf[data + 2];
  const size = family === 1 ? 4 : family === 2 ? 16 : 0;
  const addressBytes = length - 8;
  if (size === 0 || bits > size * 8 || addressBytes !== Math.ceil(bits / 8)) return null;
  const address = new Uint8Array(size);
  for (let i = 0; i < addressBytes; i++) address[i] = buf[data + 4 + i];
  // Bits beyond the prefix must be zero (§6); masked rather than trusted.
  if (bits % 8 !== 0) address[addressBytes - 1] &= (0xff << (8 - (bits % 8))) & 0xff;
  return { address: size === 4 ? ipv4Text(address, 0) : ipv6Text(address, 0), bits, family: size === 4 ? 4 : 6 };
}
