/**
 * Query names between presentation text and labels of raw bytes (latin1 chars). Text follows
 * RFC 1035 §5.1: `\.` is a dot inside a label and `\DDD` a byte, so binary labels (iodine's
 * Base128) survive a round trip through logs and JSONL.
 */

/** Labels of a presentation-format name; a trailing dot is optional. */
export function labelsFromText(name: string): string[] {
  const labels: string[] = [];
  let label = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\' && i + 1 < name.length) {
      const d = name.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(d)) {
        label += String.fromCharCode(Number(d) & 0xff);
        i += 3;
      } else {
        label += name[i + 1];
        i += 1;
      }
    } else if (ch === '.') {
      if (label !== '') labels.push(label);
      label = '';
    } else {
      const code = ch.charCodeAt(0);
      // Characters beyond latin1 (UTF-8 text in a log) become their UTF-8 bytes, as on the wire.
      label += code > 0xff ? Buffer.from(ch, 'utf8').toString('latin1') : ch;
    }
  }
  if (label !== '') labels.push(label);
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
