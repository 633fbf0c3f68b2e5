/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4), read without building objects.
 * Compression pointers must point strictly backwards: that alone makes loops impossible,
 * and RFC 1035 only defines pointers to a "prior occurrence".
 */
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './wire.js';

export const NameError = {
  TRUNCATED: 'name runs past the end of the message',
  LABEL_TOO_LONG: 'label longer than 63 bytes',
  NAME_TOO_LONG: 'name longer than 255 bytes',
  BAD_POINTER: 'compression pointer does not point backwards (loop or forward reference)',
  TOO_MANY_POINTERS: 'too many compression pointers',
  BAD_LABEL_TYPE: 'reserved label type (0x40/0x80)',
} as const;
export type NameError = (typeof NameError)[keyof typeof NameError];

/** Why the last `skipName` call failed; set only when it returned -1. */
export let lastNameError: NameError = NameError.TRUNCATED;

/**
 * Validates the name at `offset` and returns the offset just after it in the message
 * (after the first pointer when compressed), or -1 with `lastNameError` set.
 */
export function skipName(buf: Uint8Array, offset: number, end: number): number {
  let pos = offset;
  let after = -1;
  let nameLength = 1; // the root label's length byte
  let hops = 0;
  for (;;) {
    if (pos >= end) return fail(NameError.TRUNCATED);
    const len = buf[pos];
    if (len === 0) return after === -1 ? pos + 1 : after;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= end) return fail(NameError.TRUNCATED);
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= pos) return fail(NameError.BAD_POINTER);
      if (++hops > 64) return fail(NameError.TOO_MANY_POINTERS);
      if (after === -1) after = pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) return fail(NameError.BAD_LABEL_TYPE);
    if (len > MAX_LABEL_LENGTH) return fail(NameError.LABEL_TOO_LONG);
    nameLength += len + 1;
    if (nameLength > MAX_NAME_LENGTH) return fail(NameError.NAME_TOO_LONG);
    pos += len + 1;
  }
}

function fail(reason: NameError): number {
  lastNameError = reason;
  return -1;
}

/**
 * Presentation form of a validated name ("www.example.com", "." for the root).
 * Bytes outside printable ASCII, dots and backslashes inside labels are escaped as in
 * RFC 4343 (`\DDD`, `\.`), so binary labels (iodine's Base128) stay unambiguous.
 */
export function nameToString(buf: Uint8Array, offset: number): string {
  const labels = nameLabels(buf, offset);
  return labels.length === 0 ? '.' : presentName(labels);
}

/** The wire form of raw labels (latin1, as nameLabels gives them), as a latin1 string: the cache key's name part when the labels are lower case. */
export function wireKeyOf(labels: readonly string[]): string {
  let key = '';
  for (const label of labels) key += String.fromCharCode(label.length) + label;
  return key + '\0';
}

/** Wire form of a presentation name, for building our own queries (health checks). */
export function nameToWire(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed.length === 0) return Buffer.from([0]);
  const labels = trimmed.split('.');
  const parts: number[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > MAX_LABEL_LENGTH) throw new Error(`invalid label in name ${name}`);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  if (parts.length > MAX_NAME_LENGTH) throw new Error(`name too long: ${name}`);
  return Buffer.from(parts);
}

/** Labels of a validated name, raw bytes as latin1 chars, leftmost first. */
export function nameLabels(buf: Uint8Array, offset: number): string[] {
  const labels: string[] = [];
  let pos = offset;
  for (let hops = 0; hops < 128;) {
    const len = buf[pos];
    if (len === 0 || len === undefined) break;
    if ((len & 0xc0) === 0xc0) {
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      hops++;
      continue;
    }
    // One native latin1 decode per label instead of a string concatenation per byte.
    labels.push(Buffer.from(buf.buffer, buf.byteOffset + pos + 1, len).toString('latin1'));
    pos += len + 1;
  }
  return labels;
}

/** Presentation text of labels: bytes outside printable ASCII, dots and backslashes escaped. */
export function presentName(labels: readonly string[]): string {
  return labels.map(presentLabel).join('.');
}

function presentLabel(label: string): string {
  let plain = true;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return label;
  let out = '';
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c === 0x2e || c === 0x5c) out += `\\${label[i]}`;
    else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, '0')}`;
    else out += label[i];
  }
  return out;
}
