/** The group index answers as the plain scan does: the first group whose ranges and listeners match. */
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GroupIndex, type IndexedGroup } from '../../src/policy/group-index.js';

function scan(groups: IndexedGroup[], client: string, listener: string | undefined): number {
  return groups.findIndex((g) => {
    let inRange = g.clients.length === 0;
    for (const cidr of g.clients) {
      const [address, bits] = cidr.split('/');
      const family = address.includes(':') ? 'ipv6' : 'ipv4';
      const list = new BlockList();
      if (bits === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(bits), family);
      if (list.check(client, family)) inRange = true;
    }
    return inRange && (g.listeners === null || (listener !== undefined && g.listeners.has(listener)));
  });
}

describe('client group index', () => {
  const octet = fc.integer({ min: 0, max: 3 });
  const v4 = fc.tuple(fc.constant(10), octet, octet, octet).map((o) => o.join('.'));
  const v6 = fc.tuple(octet, octet).map(([a, b]) => `2001:db8:${a}::${b}`);
  const cidr = fc.oneof(
    fc.tuple(v4, fc.integer({ min: 8, max: 32 })).map(([a, b]) => `${a}/${b}`),
    v4,
    fc.tuple(v6, fc.constantFrom(32, 48, 64, 128)).map(([a, b]) => `${a}/${b}`),
  );
  const listeners = fc.option(
    fc.uniqueArray(fc.constantFrom('127.0.0.1:53', '127.0.0.2:53'), { minLength: 1 }).map((l) => new Set(l)),
    { nil: null },
  );
  const group = fc.record({ clients: fc.array(cidr, { maxLength: 3 }), listeners });

  it('finds the same group as testing every group in order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(group, { maxLength: 12 }),
        fc.array(
          fc.tuple(fc.oneof(v4, v6), fc.option(fc.constantFrom('127.0.0.1:53', '127.0.0.2:53'), { nil: undefined })),
          { minLength: 1, maxLength: 10 },
        ),
        (groups, queries) => {
          const index = new GroupIndex(groups);
          for (const [client, listener] of queries) {
            const found = index.find(client, listener);
            assert.equal(
              found === undefined ? -1 : groups.indexOf(found),
              scan(groups, client, listener),
              `${client} on ${listener} in ${JSON.stringify(groups.map((g) => ({ ...g, listeners: g.listeners && [...g.listeners] })))}`,
            );
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
