/** An IP address in text to its 4 or 16 network-order bytes (undefined when it is not one). */
import { isIPv4, isIPv6 } from 'node:net';

export function ipBytes(text: string): Buffer | undefined {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text)) return undefined;
  let t = text;
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  const out = Buffer.alloc(16);
  // A dotted IPv4 tail (::ffff:192.0.2.1) fills the last four bytes.
  let tail: Buffer | undefined;
  const lastColon = t.lastIndexOf(':');
  if (t.indexOf('.', lastColon) >= 0) {
    tail = Buffer.from(
      t
        .slice(lastColon + 1)
        .split('.')
        .map(Number),
    );
    t = `${t.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = t.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  if (tail) tail.copy(out, 12);
  return out;
}
