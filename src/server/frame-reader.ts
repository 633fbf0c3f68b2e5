/**
 * Splits a TCP byte stream into DNS messages framed by a 2-byte length (RFC 1035 §4.2.2,
 * RFC 7766 §8). Shared by the TCP listener and the upstream TCP transport.
 */
export class FrameReader {
  private buffered: Buffer | null = null;

  constructor(
    private readonly maxMessage: number,
    private readonly onMessage: (msg: Buffer) => void,
  ) {}

  /** Feeds a chunk; returns false when the stream is unusable (a zero-length frame). */
  push(chunk: Buffer): boolean {
    let data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.buffered = null;
    let pos = 0;
    while (data.length - pos >= 2) {
      const length = data.readUInt16BE(pos);
      if (length === 0 || length > this.maxMessage) return false;
      if (data.length - pos - 2 < length) break;
      // Copy out: the message outlives this chunk (it may sit in the cache or in flight).
      this.onMessage(Buffer.from(data.subarray(pos + 2, pos + 2 + length)));
      pos += 2 + length;
    }
    if (pos < data.length) this.buffered = Buffer.from(data.subarray(pos));
    return true;
  }

  /** Bytes of a partial message waiting for the rest. */
  get pendingBytes(): number {
    return this.buffered?.length ?? 0;
  }
}
