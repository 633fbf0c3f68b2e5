/** Small pure helpers Tunnel Guard's stages share: name case, rounding for traces, times, incident ids. */
import { murmur3 } from '../util/hash.js';

export function lowerAscii(label: string): string {
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return asciiLower(label);
  }
  return label;
}

/** Lower-cases A–Z only: String#toLowerCase would also fold latin1 bytes of binary labels. */
function asciiLower(label: string): string {
  let out = '';
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c | 0x20) : label[i];
  }
  return out;
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Two decimals: what traces, reasons and the console show. */
export function round(v: number): number {
  return Math.round(v * 100) / 100;
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** A stable incident id for a block's subject, start and offence number. */
export function incidentId(subject: string, ts: number, n: number): string {
  return `TG-${(murmur3(`${subject}:${ts}:${n}`, 0x1dc) >>> 0).toString(16).padStart(8, '0')}`;
}
