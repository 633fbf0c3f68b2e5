/**
 * Tunnel Guard stage 1: the shape of a label, from its original-case bytes. Encoders leave
 * shapes (hex digests, base32/base64 runs, raw bytes); legitimate names mostly do not, but
 * some do (CDN hashes, DKIM selectors, antivirus lookups), which is why shape is evidence, not
 * a verdict.
 */
export type LabelKind = 'binary' | 'numeric' | 'hex' | 'base32' | 'base64' | 'word' | 'mixed';

export interface LabelShape {
  kind: LabelKind;
  length: number;
  digits: number;
  letters: number;
  longestDigitRun: number;
  longestLetterRun: number;
  /** Vowels among letters: names people choose sit near 0.3–0.5; random letters near 0.19. */
  vowelRatio: number;
}

const VOWELS = new Set([0x61, 0x65, 0x69, 0x6f, 0x75, 0x79]);

export function labelShape(label: string): LabelShape {
  let digits = 0;
  let letters = 0;
  let upper = 0;
  let lower = 0;
  let vowels = 0;
  let binary = false;
  let base64Only = true;
  let hexOnly = true;
  let base32Only = true;
  let digitRun = 0;
  let letterRun = 0;
  let longestDigitRun = 0;
  let longestLetterRun = 0;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    const isDigit = c >= 0x30 && c <= 0x39;
    const isUpper = c >= 0x41 && c <= 0x5a;
    const isLower = c >= 0x61 && c <= 0x7a;
    if (c < 0x21 || c > 0x7e) binary = true;
    if (isDigit) digits++;
    if (isUpper) upper++;
    if (isLower) lower++;
    if (isUpper || isLower) {
      letters++;
      if (VOWELS.has(c | 0x20)) vowels++;
    }
    digitRun = isDigit ? digitRun + 1 : 0;
    letterRun = isUpper || isLower ? letterRun + 1 : 0;
    if (digitRun > longestDigitRun) longestDigitRun = digitRun;
    if (letterRun > longestLetterRun) longestLetterRun = letterRun;
    const lc = c | 0x20;
    if (!(isDigit || (lc >= 0x61 && lc <= 0x66))) hexOnly = false;
    if (!((lc >= 0x61 && lc <= 0x7a) || (c >= 0x32 && c <= 0x37) || c === 0x3d)) base32Only = false;
    if (!(isDigit || isUpper || isLower || c === 0x2b || c === 0x2f || c === 0x2d || c === 0x5f || c === 0x3d))
      base64Only = false;
  }
  const length = label.length;
  let kind: LabelKind = 'mixed';
  if (binary) kind = 'binary';
  else if (length > 0 && digits === length) kind = 'numeric';
  else if (hexOnly && length >= 8 && digits > 0 && letters > 0) kind = 'hex';
  else if (base64Only && length >= 16 && upper > 0 && lower > 0 && (digits > 0 || upper > 2)) kind = 'base64';
  else if (base32Only && length >= 16 && digits > 0) kind = 'base32';
  else if (letters === length && length > 0) kind = 'word';
  return {
    kind,
    length,
    digits,
    letters,
    longestDigitRun,
    longestLetterRun,
    vowelRatio: letters ? vowels / letters : 0,
  };
}
