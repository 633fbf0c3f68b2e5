/**
 * The public corpora in ../shared/datasets (or $DNSWARD_DATASETS), read in place when present:
 *
 * - graphtunnel/queries.csv: real dnscat2, dns2tcp and iodine captures and benign captures, with
 *   clients and times: replayed through a fresh engine (prior only), one session per tunnel file;
 * - netrack/<tool>-names.csv: names only: each tool's names become one session from one client,
 *   one query per 0.2 s; the `plain` names are benign queries from 50 clients;
 * - isp-ziza/val_100k.csv: subdomains without their registered domain, so no per-domain state can
 *   be built: only the per-query stage is measured (would the one-query rule block the name if
 *   its domain were new?).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedQuery } from './traffic/benign-traffic.js';
import type { TunnelSession } from './traffic/synthetic-tunnels.js';

export interface DatasetStream {
  name: string;
  benign: GeneratedQuery[];
  sessions: TunnelSession[];
}

export function datasetsRoot(): string | undefined {
  const candidates = [process.env.DNSWARD_DATASETS, join(process.cwd(), '../shared/datasets')].filter(
    (p): p is string => p !== undefined,
  );
  return candidates.find((p) => existsSync(p));
}

function csvRows(path: string): string[][] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .map((l) => l.split(','));
}

/**
 * Payload is unknown in captures: a query counts the bytes its subdomain can encode (hex 1/2,
 * base32 5/8, base64 and anything else 3/4 of its characters): an upper estimate.
 */
export function estimatePayload(qname: string, zoneLabels: number): number {
  const labels = qname.replace(/\.$/, '').split('.');
  const sub = labels.slice(0, Math.max(0, labels.length - zoneLabels)).join('');
  const ratio = /^[0-9a-f]*$/i.test(sub) ? 1 / 2 : /^[a-z2-7]*$/.test(sub) ? 5 / 8 : 3 / 4;
  return Math.floor(sub.length * ratio);
}

export function graphtunnel(root: string): DatasetStream | undefined {
  const path = join(root, 'graphtunnel/queries.csv');
  if (!existsSync(path)) return undefined;
  const benign: GeneratedQuery[] = [];
  const byFile = new Map<string, TunnelSession>();
  for (const p of csvRows(path)) {
    const [file, label, ts, client] = p;
    const qname = p.slice(4, p.length - 1).join(',');
    const qtype = Number(p[p.length - 1]);
    if (label === 'benign') {
      benign.push({ ts: Number(ts), client, qname, qtype, kind: 'graphtunnel-normal' });
      continue;
    }
    let s = byFile.get(file);
    if (s === undefined) {
      s = { tool: `graphtunnel ${file.replace(/_\d+_\d+\.pcap$|\.pcap$/, '')}`, client, domains: [], queries: [] };
      byFile.set(file, s);
    }
    s.queries.push({ ts: Number(ts), client, qname, qtype, payload: estimatePayload(qname, 2) });
  }
  for (const s of byFile.values()) s.queries.sort((a, b) => a.ts - b.ts);
  return { name: 'graphtunnel (real captures)', benign, sessions: [...byFile.values()] };
}

export function netrack(root: string): DatasetStream | undefined {
  const dir = join(root, 'netrack');
  if (!existsSync(dir)) return undefined;
  const start = 1_700_000_000;
  const sessions: TunnelSession[] = [];
  const benign: GeneratedQuery[] = [];
  for (const tool of ['dns2tcp', 'dnscapy', 'iodine']) {
    const path = join(dir, `${tool}-names.csv`);
    if (!existsSync(path)) continue;
    const client = `10.77.0.${sessions.length + 1}`;
    const rows = csvRows(path).filter((r) => r[0] === '1');
    // The files hold many runs; one session of the first 2,000 names, started 10 minutes in.
    const queries = rows.slice(0, 2000).map((r, i) => {
      const qname = r.slice(1).join(',');
      return { ts: start + 600 + i * 0.2, client, qname, qtype: 16, payload: estimatePayload(qname, 3) };
    });
    sessions.push({ tool: `netrack ${tool}`, client, domains: [], queries });
  }
  const plain = join(dir, 'plain-names.csv');
  if (existsSync(plain)) {
    csvRows(plain).forEach((r, i) =>
      benign.push({
        ts: start + i,
        client: `10.78.0.${i % 50}`,
        qname: r.slice(1).join(','),
        qtype: 1,
        kind: 'netrack-plain',
      }),
    );
  }
  return { name: 'netrack (names only, timing made up)', benign, sessions };
}

export interface IspNames {
  benign: string[];
  antivirus: string[];
  exfiltration: string[];
}

/** isp-ziza validation names by group; ESET (`.a.e`, `.a.j`) and McAfee (`.avqs`, `.avts`) are benign antivirus. */
export function ispZiza(root: string): IspNames | undefined {
  const path = join(root, 'isp-ziza/val_100k.csv');
  if (!existsSync(path)) return undefined;
  const out: IspNames = { benign: [], antivirus: [], exfiltration: [] };
  for (const row of csvRows(path)) {
    const text = row[0];
    if (row[1] === '0') out.benign.push(text);
    else if (/\.(a\.e|a\.j|avqs|avts)$/.test(text)) out.antivirus.push(text);
    else out.exfiltration.push(text);
  }
  return out;
}
