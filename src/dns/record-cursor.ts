/**
 * The one walk over a DNS message's resource records, for everything that reads answers
 * without decoding them: the response scanner (cache, TTLs), the policy's answer matching
 * (CNAME targets, addresses) and the message summary (capture analysis, Tunnel Guard's view of
 * answers). A cursor, reused by its owner: no allocation per message or per record.
 *
 *   const c = cursor.start(buf, end);          // header read, question skipped
 *   while (c.next()) { c.type, c.ttlAt, c.rdata, c.rdlength, c.section … }
 *   if (c.error !== '') …                       // why the walk stopped early
 */
import { lastNameError, skipName } from './name.js';
import { HEADER_LENGTH } from './wire.js';

export const Section = { ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 2 } as const;

export class RecordCursor {
  buf: Uint8Array = new Uint8Array(0);
  end = 0;
  flags = 0;
  qdcount = 0;
  ancount = 0;
  nscount = 0;
  arcount = 0;
  /** Offset of the first record (just after the question), or -1 when the question is malformed. */
  questionEnd = -1;
  /** The question's type and class (with qdcount 1). */
  qtype = 0;
  qclass = 0;
  /** Current record: its index over all sections, its section, and where its parts are. */
  index = -1;
  section = 0;
  nameAt = 0;
  type = 0;
  klass = 0;
  /** Offset of the 32-bit TTL field. */
  ttlAt = 0;
  ttl = 0;
  rdata = 0;
  rdlength = 0;
  /**
   * Why next() stopped before the last record: '' (it did not), `name` (a bad owner name;
   * name.ts's lastNameError says which), `header` (the fixed fields run past the end) or
   * `data` (the record data runs past the end); after start(), `question-name` or
   * `question` (a question's name is bad, or its type and class run past the end).
   */
  error: '' | 'name' | 'header' | 'data' | 'question-name' | 'question' = '';
  private pos = 0;
  private stopAt = 0;

  /**
   * Reads the header and skips the one question; records follow with next(). With `sections`
   * 1, only the answer section is walked; 2, answer and authority; 3 (default), all.
   */
  start(buf: Uint8Array, end: number = buf.length, sections = 3): this {
    this.buf = buf;
    this.end = end;
    this.index = -1;
    this.error = '';
    this.questionEnd = -1;
    if (end < HEADER_LENGTH) {
      this.flags = this.qdcount = this.ancount = this.nscount = this.arcount = 0;
      this.stopAt = 0;
      return this;
    }
    this.flags = (buf[2] << 8) | buf[3];
    this.qdcount = (buf[4] << 8) | buf[5];
    this.ancount = (buf[6] << 8) | buf[7];
    this.nscount = (buf[8] << 8) | buf[9];
    this.arcount = (buf[10] << 8) | buf[11];
    this.stopAt =
      sections <= 1
        ? this.ancount
        : sections === 2
          ? this.ancount + this.nscount
          : this.ancount + this.nscount + this.arcount;
    let pos = HEADER_LENGTH;
    for (let q = 0; q < this.qdcount; q++) {
      pos = skipName(buf, pos, end);
      if (pos < 0 || pos + 4 > end) {
        this.error = pos < 0 ? 'question-name' : 'question';
        this.stopAt = 0;
        return this;
      }
      if (q === 0) {
        this.qtype = (buf[pos] << 8) | buf[pos + 1];
        this.qclass = (buf[pos + 2] << 8) | buf[pos + 3];
      }
      pos += 4;
    }
    this.questionEnd = pos;
    this.pos = pos;
    return this;
  }

  /** Moves to the next record; false at the end of the walked sections or when the message is cut or malformed (see error). */
  next(): boolean {
    const i = this.index + 1;
    if (i >= this.stopAt || this.error !== '') return false;
    const { buf, end } = this;
    const nameAt = this.pos;
    const pos = skipName(buf, nameAt, end);
    if (pos < 0) {
      this.error = 'name';
      return false;
    }
    if (pos + 10 > end) {
      this.error = 'header';
      return false;
    }
    const rdlength = (buf[pos + 8] << 8) | buf[pos + 9];
    if (pos + 10 + rdlength > end) {
      this.error = 'data';
      return false;
    }
    this.index = i;
    this.section =
      i < this.ancount ? Section.ANSWER : i < this.ancount + this.nscount ? Section.AUTHORITY : Section.ADDITIONAL;
    this.nameAt = nameAt;
    this.type = (buf[pos] << 8) | buf[pos + 1];
    this.klass = (buf[pos + 2] << 8) | buf[pos + 3];
    this.ttlAt = pos + 4;
    this.ttl = ((buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]) >>> 0;
    this.rdata = pos + 10;
    this.rdlength = rdlength;
    this.pos = pos + 10 + rdlength;
    return true;
  }

  /** A sentence for `error` about record number `n` (1-based), as parse errors are worded. */
  errorText(n: number): string {
    if (this.error === 'question-name') return `question: ${lastNameError}`;
    if (this.error === 'question') return 'question runs past the end';
    if (this.error === 'name') return `record ${n}: ${lastNameError}`;
    if (this.error === 'header') return `record ${n} runs past the end`;
    return `record ${n} data runs past the end`;
  }
}
