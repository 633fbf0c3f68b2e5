import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionOwner } from '../../src/util/connection-owner.js';

describe('connection owner (per-client caps)', () => {
  it('is the address for IPv4, and the IPv4 address for an IPv4-mapped IPv6 address', () => {
    assert.equal(connectionOwner('192.0.2.7'), '192.0.2.7');
    assert.equal(connectionOwner('::ffff:192.0.2.7'), '192.0.2.7');
  });

  it('is the /64 for IPv6, so one host cannot pass the cap by changing its interface identifier', () => {
    const a = connectionOwner('2001:db8:1:2::1');
    assert.equal(a, connectionOwner('2001:db8:1:2:ffff:eeee:dddd:cccc'));
    assert.equal(a, connectionOwner('2001:0db8:0001:0002:0000:0000:0000:0099'));
    assert.notEqual(a, connectionOwner('2001:db8:1:3::1'));
    assert.equal(connectionOwner('::1'), connectionOwner('::2'));
  });
});
