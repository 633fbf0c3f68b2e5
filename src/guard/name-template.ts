/**
 * The template of a subdomain: how many labels it has and, per label, its encoding kind and
 * length. Legitimate heavy encoders (antivirus reputation lookups, DNSBLs, CDN hashes) fill one
 * fixed template again and again; tunnels carry variable-length chunks, counters and polls.
 * A stable template is evidence of a legitimate encoder, never proof.
 */
import { labelShape, type LabelKind } from './label-shape.js';
import { murmur3 } from '../util/hash.js';

const KIND_CODE: Record<LabelKind, string> = {
  binary: 'B',
  numeric: 'N',
  hex: 'H',
  base32: '3',
  base64: '6',
  word: 'W',
  mixed: 'M',
};

export interface SubdomainShape {
  template: number;
  /** Labels that look encoded (hex, base32, base64, binary). */
  encodedLabels: number;
  longestLabel: number;
  kinds: LabelKind[];
}

/** Labels are original-case (base64 needs case); words are bucketed so `www` and `mail` share a template. */
export function subdomainShape(labels: readonly string[]): SubdomainShape {
  let signature = String(labels.length);
  let encodedLabels = 0;
  let longestLabel = 0;
  const kinds: LabelKind[] = [];
  for (const label of labels) {
    const shape = labelShape(label);
    kinds.push(shape.kind);
    if (shape.kind === 'hex' || shape.kind === 'base32' || shape.kind === 'base64' || shape.kind === 'binary')
      encodedLabels++;
    if (label.length > longestLabel) longestLabel = label.length;
    // Numeric labels vary in length with their value (reversed IPs): bucket them as one.
    const length = shape.kind === 'numeric' ? 0 : shape.kind === 'word' ? Math.min(3, label.length >> 2) : label.length;
    signature += `.${KIND_CODE[shape.kind]}${length}`;
  }
  return { template: murmur3(signature, 0x7e11), encodedLabels, longestLabel, kinds };
}
