/**
 * Query names from presentation text to labels of raw bytes (latin1 chars); the way back is
 * `presentName` in src/dns/name.ts. Text follows RFC 1035 §5.1: `\.` is a dot inside a label
 * and `\DDD` a byte, so binary labels (iodine's Base128) survive a round trip through logs and JSONL.
 */

const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

/** Labels of a presentation-format name; a trailing dot is optional. */
export function labelsFromText(name: string): string[] {
  // Most names carry no escape and no character beyond latin1: a native split is enough.
  if (name.indexOf('\\') < 0 && !BEYOND_LATIN1.test(name)) {
    const parts = name.split('.');
    return parts.includes('') ? parts.filter((p) => p !== '') : parts;
  }
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
