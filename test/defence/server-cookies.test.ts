/** SipHash-2-4 against its reference vectors, and RFC 9018 server cookies against the RFC's own example. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerCookies } from '../../src/defence/server-cookies.js';
import { sipHash24 } from '../../src/defence/siphash.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('SipHash-2-4', () => {
  it('matches the reference implementation vectors (key 00..0f, messages 00..n-1)', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f');
    const out = Buffer.alloc(8);
    const msg = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
    const expected: Record<number, string> = {
      0: '310e0edd47db6f72',
      1: 'fd67dc93c539f874',
      7: '37d1018bf50002ab',
      8: '6224939a79f5f593',
      15: 'e545be4961ca29a1',
      63: '724506eb4c328a95',
    };
    for (const [n, want] of Object.entries(expected)) {
      sipHash24(key, msg, 0, Number(n), out, 0);
      assert.equal(out.toString('hex'), want, `message of ${n} bytes`);
    }
  });
});

describe('RFC 9018 server cookies', () => {
  // RFC 9018 Appendix A.1: client cookie, client 198.51.100.100, secret and time as given there.
  const secret = hex('e5e973e5a6b2a43f48e7dc849e37bfcf');
  const client = hex('2464c4abcf10c957');
  const address = Uint8Array.of(198, 51, 100, 100);
  const time = 1559731985;
  const expected = '010000005cf79f111f8130c3eee29480';

  it("mints the RFC's example cookie", () => {
    const out = Buffer.alloc(16);
    new ServerCookies(secret).mint(client, 0, address, time, out, 0);
    assert.equal(out.toString('hex'), expected);
  });

  it('accepts its own cookie for an hour (and five minutes early), for that client cookie and address only', () => {
    const cookies = new ServerCookies(secret);
    const option = Buffer.concat([client, hex(expected)]);
    assert.equal(cookies.check(option, 0, 8, 16, address, time), 'valid');
    assert.equal(cookies.check(option, 0, 8, 16, address, time + 3600), 'valid');
    assert.equal(cookies.check(option, 0, 8, 16, address, time + 3601), 'invalid', 'stale');
    assert.equal(cookies.check(option, 0, 8, 16, address, time - 300), 'valid');
    assert.equal(cookies.check(option, 0, 8, 16, address, time - 301), 'invalid', 'from the future');
    assert.equal(cookies.check(option, 0, 8, 16, Uint8Array.of(198, 51, 100, 101), time), 'invalid', 'another address');
    const tampered = Buffer.from(option);
    tampered[0] ^= 1;
    assert.equal(cookies.check(tampered, 0, 8, 16, address, time), 'invalid', 'another client cookie');
    assert.equal(cookies.check(option, 0, 8, 8, address, time), 'invalid', 'a server cookie of another length');
  });

  it('keeps the previous secret valid across one rotation, not two', () => {
    const cookies = new ServerCookies(secret);
    const option = Buffer.concat([client, hex(expected)]);
    cookies.rotate(hex('00112233445566778899aabbccddeeff'));
    assert.equal(cookies.check(option, 0, 8, 16, address, time), 'valid');
    cookies.rotate(hex('00112233445566778899aabbccddeeff'));
    assert.equal(cookies.check(option, 0, 8, 16, address, time), 'valid', 'the same secret again is no rotation');
    cookies.rotate(hex('ffeeddccbbaa99887766554433221100'));
    assert.equal(cookies.check(option, 0, 8, 16, address, time), 'invalid');
  });
});
