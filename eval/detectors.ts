/** The detectors `npm run eval` compares: Tunnel Guard and the simple per-query baselines. */
import { anatomize } from '../src/guard/name-anatomy.js';
import { labelsFromText } from '../src/guard/name-text.js';
import { TunnelGuard, type TunnelGuardOptions } from '../src/guard/tunnel-guard.js';
import type { Detector } from './evaluate.js';

export function tunnelGuardDetector(
  options: TunnelGuardOptions = {},
  guard = new TunnelGuard(options),
): Detector & { guard: TunnelGuard } {
  return {
    name: 'Tunnel Guard',
    guard,
    judge(q) {
      const v = guard.observe({ ts: q.ts, client: q.client, labels: labelsFromText(q.qname), qtype: q.qtype });
      return { blocked: v.action === 'block', domain: v.domain, why: v.reasons.join('; ') };
    },
  };
}

function perQueryRule(name: string, blocks: (qname: string, subdomain: string[]) => boolean): Detector {
  return {
    name,
    judge(q) {
      const labels = labelsFromText(q.qname.toLowerCase());
      const anatomy = anatomize(labels);
      return { blocked: blocks(q.qname, anatomy.subdomainLabels), domain: anatomy.registeredDomain };
    },
  };
}

function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / text.length) * Math.log2(n / text.length);
  return h;
}

export const baselines: Detector[] = [
  perQueryRule('name length >= 52', (qname) => qname.replace(/\.$/, '').length >= 52),
  perQueryRule('longest label >= 30', (_, sub) => sub.some((l) => l.length >= 30)),
  perQueryRule('entropy >= 4 bits/char over >= 20 chars', (_, sub) => {
    const text = sub.join('');
    return text.length >= 20 && entropy(text) >= 4;
  }),
];
