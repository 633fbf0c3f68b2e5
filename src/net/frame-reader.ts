/**
 * Splits a TCP byte stream into DNS messages framed by a 2-byte length (RFC 1035 §4.2.2,
 * RFC 7766 §8). Shared by the TCP listener and the upstream TCP transport.
 *
 * Linear in the bytes received however the stream is chunked: a message wholly inside a chunk
 * is copied out once; a message split across chunks is gathered in a buffer that doubles up to
 * the declared length, so each byte is copied at most twice and the buffer is never more than
 * twice what has arrived (a 2-byte prefix declaring 65535 does not allocate 64 KiB). Re-joining
 * the whole backlog on every chunk was quadratic: a 65 KB message sent byte by byte cost seconds
 * of CPU.
 *
 * The reader can be paused (the listener does so at its in-flight cap): no message is emitted
 * while paused, even one already received in the current chunk; the unparsed rest waits, by
 * reference and uncopied, until resume(). The caller pauses its socket too, so what waits is at
 * most the rest of the chunk being parsed.
 */
const FIRST_GATHER_BYTES = 512;

export class FrameReader {
  /** Bytes copied into messages and gather buffers, for tests of linearity. */
  bytesCopied = 0;
  /** Messages begun (a first length byte seen): lets the caller time each message's arrival. */
  messagesBegun = 0;

  private readonly unparsed: Buffer[] = [];
  private unparsedOffset = 0;
  /** Length prefix split across chunks: its high byte, or -1. */
  private lengthHigh = -1;
  /** A message being gathered across chunks: its declared length, the buffer, bytes filled. */
  private gatherLength = 0;
  private gather: Buffer | null = null;
  private gathered = 0;
  private paused = false;
  private parsing = false;
  private broken = false;

  constructor(
    private readonly maxMessage: number,
    private readonly onMessage: (msg: Buffer) => void,
  ) {}

  /** Feeds a chunk; returns false when the stream is unusable (a zero-length or oversized frame). */
  push(chunk: Buffer): boolean {
    if (this.broken) return false;
    if (chunk.length > 0) this.unparsed.push(chunk);
    if (!this.paused && !this.parsing) this.parse();
    return !this.broken;
  }

  /** Stops emitting messages until resume(); takes effect before the next message. */
  pause(): void {
    this.paused = true;
  }

  /** Emits what waited (it may pause again on the way); returns false when the stream is unusable. */
  resume(): boolean {
    this.paused = false;
    // Called from inside onMessage (an answer settled synchronously): the running parse goes on.
    if (!this.parsing && !this.broken) this.parse();
    return !this.broken;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** True while part of a message (or of its length) has arrived and the rest has not. */
  get partial(): boolean {
    return this.lengthHigh >= 0 || this.gatherLength > 0;
  }

  /** Bytes held: a partial message plus chunks waiting while paused. */
  get pendingBytes(): number {
    let n = this.gathered + (this.lengthHigh >= 0 ? 1 : 0) - this.unparsedOffset;
    for (const c of this.unparsed) n += c.length;
    return n;
  }

  private parse(): void {
    this.parsing = true;
    try {
      while (!this.paused && !this.broken && this.unparsed.length > 0) {
        const chunk = this.unparsed[0]!;
        const pos = this.parseChunk(chunk, this.unparsedOffset);
        if (pos >= chunk.length) {
          this.unparsed.shift();
          this.unparsedOffset = 0;
        } else {
          this.unparsedOffset = pos;
        }
      }
    } finally {
      this.parsing = false;
    }
  }

  /** Parses from pos until the chunk ends, the reader pauses or the stream breaks; returns where it stopped. */
  private parseChunk(chunk: Buffer, pos: number): number {
    while (pos < chunk.length && !this.paused) {
      if (this.gatherLength === 0) {
        let length: number;
        if (this.lengthHigh >= 0) {
          length = (this.lengthHigh << 8) | chunk[pos++]!;
          this.lengthHigh = -1;
        } else if (chunk.length - pos >= 2) {
          this.messagesBegun++;
          length = chunk.readUInt16BE(pos);
          pos += 2;
        } else {
          this.messagesBegun++;
          this.lengthHigh = chunk[pos++]!;
          continue;
        }
        if (length === 0 || length > this.maxMessage) {
          this.broken = true;
          return pos;
        }
        if (chunk.length - pos >= length) {
          // Copy out: the message outlives this chunk (it may sit in the cache or in flight).
          const msg = Buffer.from(chunk.subarray(pos, pos + length));
          this.bytesCopied += length;
          pos += length;
          this.unparsedOffset = pos; // consistent even if onMessage throws: no message twice
          this.onMessage(msg);
          continue;
        }
        this.gatherLength = length;
        this.gather = Buffer.allocUnsafe(Math.min(length, Math.max(FIRST_GATHER_BYTES, chunk.length - pos)));
        this.gathered = 0;
      }
      const n = Math.min(this.gatherLength - this.gathered, chunk.length - pos);
      let gather = this.gather!;
      if (this.gathered + n > gather.length) {
        const grown = Buffer.allocUnsafe(Math.min(this.gatherLength, Math.max(gather.length * 2, this.gathered + n)));
        gather.copy(grown, 0, 0, this.gathered);
        this.bytesCopied += this.gathered;
        gather = this.gather = grown;
      }
      chunk.copy(gather, this.gathered, pos, pos + n);
      this.bytesCopied += n;
      this.gathered += n;
      pos += n;
      if (this.gathered === this.gatherLength) {
        this.gather = null;
        this.gatherLength = 0;
        this.gathered = 0;
        this.unparsedOffset = pos;
        this.onMessage(gather);
      }
    }
    return pos;
  }
}
