/** A feed's lines as offsets into its bytes: millions of lines, and no string made for any. */

export const isBlank = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d;

/** Where a feed's text starts: after a UTF-8 byte-order mark, which some Windows-made lists have. */
export const textStart = (buf: Buffer): number =>
  buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;

export class LineCursor {
  /** The current line, blanks trimmed at both ends: `buf[start, end)`. */
  start = 0;
  end = 0;
  /** Its number, from 1. */
  line = 0;
  private pos: number;

  constructor(readonly buf: Buffer) {
    this.pos = textStart(buf);
  }

  next(): boolean {
    const buf = this.buf;
    if (this.pos >= buf.length) return false;
    let nl = buf.indexOf(0x0a, this.pos);
    if (nl < 0) nl = buf.length;
    this.start = this.pos;
    this.end = nl;
    this.pos = nl + 1;
    this.line++;
    this.trim();
    return true;
  }

  /** Drops the rest of the line from the first `c` on (a comment), then trims again. */
  cutAt(c: number): void {
    // A loop over the line, not buf.indexOf: that would search the rest of the feed on every line.
    for (let i = this.start; i < this.end; i++) {
      if (this.buf[i] === c) {
        this.end = i;
        this.trim();
        return;
      }
    }
  }

  get empty(): boolean {
    return this.start === this.end;
  }

  startsWith(ascii: string, from = this.start): boolean {
    if (this.end - from < ascii.length) return false;
    for (let i = 0; i < ascii.length; i++) if (this.buf[from + i] !== ascii.charCodeAt(i)) return false;
    return true;
  }

  /** The line's text (for messages and the rare slow paths). */
  text(start = this.start, end = this.end): string {
    return this.buf.toString('utf8', start, end);
  }

  private trim(): void {
    const buf = this.buf;
    while (this.start < this.end && isBlank(buf[this.start])) this.start++;
    while (this.end > this.start && isBlank(buf[this.end - 1])) this.end--;
  }
}
