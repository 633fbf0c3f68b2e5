/**
 * Corpus mutations as a fast-check arbitrary: a corpus entry plus 1-8 edits (bit flips, byte
 * inserts and deletes, splices from other entries, length and count fields overwritten with
 * boundary values, tokens that matter to text formats). Being an arbitrary, a failing input is
 * shrunk by fast-check to fewer and smaller edits before it is written out.
 */
import fc from 'fast-check';

type Edit =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; value: number }
  | { k: 'insert'; pos: number; bytes: Uint8Array }
  | { k: 'delete'; pos: number; len: number }
  | { k: 'splice'; pos: number; other: number; from: number; len: number }
  | { k: 'field'; pos: number; width: 1 | 2 | 4; le: boolean; value: number; relative: boolean }
  | { k: 'token'; pos: number; token: string }
  | { k: 'repeat'; pos: number; len: number; times: number }
  | { k: 'truncate'; pos: number };

const INTERESTING = [
  0, 1, 2, 0x0a, 0x20, 0x2e, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000,
  0x7fffffff, 0x80000000, 0xffffffff,
];
const TOKENS = [
  '\n',
  '\r\n',
  ' ',
  '\t',
  '.',
  '..',
  '*',
  '*.',
  '(',
  ')',
  ';',
  '#',
  '"',
  '\\',
  '$',
  '$ORIGIN ',
  '$TTL ',
  '$INCLUDE ',
  '@',
  '||',
  '^',
  '@@',
  '##',
  'CNAME ',
  'IN ',
  'SOA ',
  'A ',
  'rpz-ip',
  '.rpz-nsdname',
  ': ',
  '- ',
  '&a ',
  '*a',
  '<<: ',
  '{',
  '}',
  '[',
  ']',
  '!!',
  '---\n',
  '\u00ff',
  '\u0000',
  '0.0.0.0 ',
  '::1 ',
  'xn--',
  '\u00c0\u0080',
];

const pos = fc.noBias(fc.nat());
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), pos, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    k: fc.constant('set' as const),
    pos,
    value: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ k: fc.constant('insert' as const), pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ k: fc.constant('delete' as const), pos, len: fc.integer({ min: 1, max: 32 }) }),
  fc.record({
    k: fc.constant('splice' as const),
    pos,
    other: fc.nat(),
    from: pos,
    len: fc.integer({ min: 1, max: 256 }),
  }),
  fc.record({
    k: fc.constant('field' as const),
    pos,
    width: fc.constantFrom(1 as const, 2 as const, 4 as const),
    le: fc.boolean(),
    value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat()),
    relative: fc.boolean(),
  }),
  fc.record({ k: fc.constant('token' as const), pos, token: fc.constantFrom(...TOKENS) }),
  fc.record({
    k: fc.constant('repeat' as const),
    pos,
    len: fc.integer({ min: 1, max: 64 }),
    times: fc.integer({ min: 2, max: 64 }),
  }),
  fc.record({ k: fc.constant('truncate' as const), pos }),
);

function apply(input: Buffer, e: Edit, corpus: readonly Buffer[], maxLength: number): Buffer {
  const n = input.length;
  const at = (extra: number) => (n + extra === 0 ? 0 : e.pos % (n + extra));
  switch (e.k) {
    case 'flip': {
      if (n === 0) return input;
      const out = Buffer.from(input);
      out[at(0)] ^= 1 << e.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return input;
      const out = Buffer.from(input);
      out[at(0)] = e.value & 0xff;
      return out;
    }
    case 'insert':
      return Buffer.concat([input.subarray(0, at(1)), e.bytes, input.subarray(at(1))]);
    case 'delete':
      return n === 0 ? input : Buffer.concat([input.subarray(0, at(0)), input.subarray(at(0) + e.len)]);
    case 'splice': {
      const other = corpus[e.other % corpus.length];
      const from = other.length === 0 ? 0 : e.from % other.length;
      return Buffer.concat([input.subarray(0, at(1)), other.subarray(from, from + e.len), input.subarray(at(1))]);
    }
    case 'field': {
      if (n < e.width) return input;
      const out = Buffer.from(input);
      const o = e.pos % (n - e.width + 1);
      // Lengths relative to the input's own size hit the off-by-one boundaries of length checks.
      const raw = e.relative ? n - o + (e.value % 5) - 2 : e.value;
      const v = e.width === 1 ? raw & 0xff : e.width === 2 ? raw & 0xffff : raw >>> 0;
      if (e.width === 1) out[o] = v;
      else if (e.width === 2) {
        if (e.le) out.writeUInt16LE(v, o);
        else out.writeUInt16BE(v, o);
      } else if (e.le) out.writeUInt32LE(v, o);
      else out.writeUInt32BE(v, o);
      return out;
    }
    case 'token':
      return Buffer.concat([input.subarray(0, at(1)), Buffer.from(e.token, 'latin1'), input.subarray(at(1))]);
    case 'repeat': {
      if (n === 0) return input;
      const s = at(0);
      const chunk = input.subarray(s, s + e.len);
      const times = Math.min(e.times, Math.floor(maxLength / Math.max(1, chunk.length)));
      return Buffer.concat([input.subarray(0, s), ...Array<Buffer>(times).fill(chunk), input.subarray(s)]);
    }
    case 'truncate':
      return input.subarray(0, at(1));
  }
}

/** Mutated corpus entries, cut to `maxLength`. */
export function mutated(corpus: readonly Buffer[], maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat({ max: corpus.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 8 }))
    .map(([i, edits]) => {
      let b = corpus[i];
      for (const e of edits) b = apply(b, e, corpus, maxLength).subarray(0, maxLength);
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    });
}
