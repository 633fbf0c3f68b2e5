/**
 * The lines a person reads when dnsward starts (the JSON log is for machines): where DNS is
 * answered, where it goes, the console's address and, while no user exists, how to make one.
 */
import type { BoundAddresses } from '../server/data-plane.js';

export interface BannerFacts {
  version: string;
  bound: BoundAddresses;
  upstreams: string[];
  upstreamSource: string;
  threads: number;
  dataDir: string;
  configFile: string | undefined;
  console: { url: string; users: number } | null;
  metrics: string | null;
  guardMode: string;
  warnings: string[];
}

export function startBanner(f: BannerFacts): string {
  const dns = [
    ...f.bound.udp.map((a) => `${a} udp`),
    ...f.bound.tcp.map((a) => `${a} tcp`),
    ...f.bound.dot.map((a) => `${a} DoT`),
    ...f.bound.doh.map((a) => `${a} DoH`),
  ];
  const locate = f.configFile !== undefined ? `-c ${f.configFile}` : `--data-dir ${f.dataDir}`;
  const lines = [
    `dnsward ${f.version} is answering DNS`,
    `  listening   ${dns.join(', ')}`,
    `  upstreams   ${f.upstreams.join(', ')} (from ${f.upstreamSource})`,
    `  threads     ${f.threads === 0 ? 'one (everything on the main thread)' : `${f.threads} I/O threads`}; Tunnel Guard: ${f.guardMode}`,
    `  config      ${f.configFile ?? 'embedded default'}; data in ${f.dataDir}`,
  ];
  if (f.console === null) lines.push('  console     off');
  else {
    lines.push(`  console     ${f.console.url}`);
    if (f.console.users === 0) lines.push(`              no user yet: dnsward user add NAME --role admin ${locate}`);
  }
  if (f.metrics !== null) lines.push(`  metrics     ${f.metrics}`);
  for (const w of f.warnings) lines.push(`  warning     ${w}`);
  lines.push(
    `  operate     dnsward blocks|feeds|queries|events ${locate}; reload with SIGHUP or dnsward reload ${locate}`,
  );
  return lines.join('\n');
}
