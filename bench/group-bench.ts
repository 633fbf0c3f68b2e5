/**
 * Client group lookup for an MSP with many tenants: GROUP_BENCH_TENANTS (default 10,000) groups
 * of one /24 each, then a catch-all group; the cost of finding a client's group with the index
 * (src/policy/group-index.ts) and with the plain scan it replaced (node:net BlockList per group,
 * tested in order).
 */
import { BlockList } from 'node:net';
import { GroupIndex } from '../src/policy/group-index.js';

const TENANTS = Number(process.env.GROUP_BENCH_TENANTS ?? 10_000);
const groups = Array.from({ length: TENANTS }, (_, i) => ({
  clients: [`10.${(i >> 8) & 255}.${i & 255}.0/24`],
  listeners: null,
}));
groups.push({ clients: [], listeners: null });
const clients = Array.from({ length: 4096 }, (_, i) => `10.${(i * 7) & 255}.${(i * 13) & 255}.${i & 255}`);

const index = new GroupIndex(groups);
const lists = groups.map((g) => {
  if (g.clients.length === 0) return null;
  const b = new BlockList();
  const [address, bits] = g.clients[0].split('/');
  b.addSubnet(address, Number(bits), 'ipv4');
  return b;
});
const scan = (client: string) => lists.findIndex((l) => l === null || l.check(client, 'ipv4'));

function time(label: string, lookups: number, find: (client: string) => unknown): number {
  for (let i = 0; i < Math.min(lookups, 10_000); i++) find(clients[i & 4095]);
  const started = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) find(clients[i & 4095]);
  const ns = Number(process.hrtime.bigint() - started) / lookups;
  console.error(`${label}: ${ns.toFixed(0)} ns`);
  return ns;
}

for (const c of clients.slice(0, 200)) {
  const a = index.find(c, undefined);
  if (groups.indexOf(a as (typeof groups)[number]) !== scan(c)) throw new Error(`index and scan disagree for ${c}`);
}
const indexed = time('index', 1_000_000, (c) => index.find(c, undefined));
const scanned = time('scan', 2_000, scan);
console.log(
  `\nClient group lookup among ${TENANTS.toLocaleString()} tenant groups (one /24 each) and a catch-all: index ${indexed.toFixed(0)} ns, scan of every group in order ${(scanned / 1000).toFixed(1)} µs (${(scanned / indexed).toFixed(0)}× slower).`,
);
