/**
 * Tunnel Guard's decisions as cluster decisions, both ways: what this node decided becomes a
 * Decision to share, and a Decision from another node is applied to the guard exactly where a
 * local one would be (its block maps, its allows and quarantines), so answers, the block table,
 * `dnsward blocks`, snapshots and the console treat it as their own. Each applied entry keeps
 * the name of the node that decided (`origin`).
 *
 * Versions: a block's is its start (ms), an operator decision's the moment it was made. The
 * newer of two decisions on one subject wins; a tie keeps what is there (applying is idempotent).
 * An operator allow here always wins over a block from elsewhere.
 */
import { randomUUID } from 'node:crypto';
import { type DomainBlock, clientBlockKey, type TunnelGuard } from '../guard/tunnel-guard.js';
import { cidrContains } from '../util/cidr.js';
import type { ApplyOutcome } from './cluster-sync.js';
import type { Decision } from './decision.js';

/** An unblock or a release is remembered as long as what it lifted could have lasted (Tunnel Guard's longest block). */
const TOMBSTONE_SECONDS = 7 * 86_400;
const MAX_RELEASES = 10_000;

function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** Who made an operator decision, as long as other nodes accept it. */
function who(by: string): string {
  return by.slice(0, 128);
}

export class GuardDecisions {
  /** Releases (client → when, by whom), kept so a quarantine from before one is not applied again. */
  private readonly released = new Map<string, { version: number; until: number; by: string; origin: string }>();

  constructor(
    private readonly guard: TunnelGuard,
    private readonly node: string,
  ) {}

  private base(
    kind: Decision['kind'],
    version: number,
    until: number,
    origin = this.node,
  ): Pick<Decision, 'v' | 'id' | 'kind' | 'origin' | 'version' | 'sentAt' | 'until'> {
    return { v: 1, id: randomUUID(), kind, origin, version, sentAt: Date.now(), until };
  }

  /** A block Tunnel Guard started here (or one applied from elsewhere, to write back at a sync). */
  block(domain: string, b: DomainBlock): Decision {
    return {
      ...this.base('block', ms(b.since), b.until, b.origin),
      domain,
      scope: b.scope,
      client: b.client,
      offenses: b.offenses,
      incident: b.incident,
      reason: b.reasons[0]?.slice(0, 400),
      leaked: b.leaked,
    };
  }

  unblock(domain: string, at: number, by: string, origin = this.node): Decision {
    return { ...this.base('unblock', ms(at), at + TOMBSTONE_SECONDS, origin), domain, by: who(by) };
  }

  allow(o: { domain?: string; client?: string; until: number; by: string; at: number; origin?: string }): Decision {
    return { ...this.base('allow', ms(o.at), o.until, o.origin), domain: o.domain, client: o.client, by: who(o.by) };
  }

  quarantine(q: { client: string; until: number; by: string; at: number; origin?: string }): Decision {
    return { ...this.base('quarantine', ms(q.at), q.until, q.origin), client: q.client, by: who(q.by) };
  }

  /** A release here: remembered, and shared. */
  release(client: string, at: number, by: string): Decision {
    const d: Decision = { ...this.base('release', ms(at), at + TOMBSTONE_SECONDS), client, by: who(by) };
    this.noteRelease(d);
    return d;
  }

  /** Every decision in force here, whoever made it (what a sync writes back when Redis lacks it). */
  current(now: number): Decision[] {
    const out: Decision[] = [];
    for (const b of this.guard.activeBlocks(now)) out.push(this.block(b.domain, b));
    for (const o of this.guard.overrides) if (o.until > now) out.push(this.allow(o));
    for (const q of this.guard.quarantines) if (q.until > now) out.push(this.quarantine(q));
    // The newest unblock of each domain (a client-scoped block's key holds its domain after the space).
    const unblocks = new Map<string, number>();
    for (const [key, u] of this.guard.unblocked) {
      const domain = key.slice(key.indexOf(' ') + 1);
      if (u.at + TOMBSTONE_SECONDS > now) unblocks.set(domain, Math.max(u.at, unblocks.get(domain) ?? 0));
    }
    for (const [domain, at] of unblocks) out.push(this.unblock(domain, at, 'operator'));
    for (const [client, r] of this.released)
      if (r.until > now) out.push({ ...this.base('release', r.version, r.until, r.origin), client, by: r.by });
    return out;
  }

  /** Applies another node's decision to the guard, as if made here; says what it did. */
  apply(d: Decision, now: number): ApplyOutcome {
    switch (d.kind) {
      case 'block':
        return this.applyBlock(d, now);
      case 'unblock': {
        let lifted = 0;
        for (const { key, block } of this.guard.blocksOn(d.domain!)) {
          if (ms(block.since) > d.version) continue;
          this.guard.blockMap(block).delete(key);
          this.guard.noteUnblock(key, block.incident, d.version / 1000);
          lifted++;
        }
        // Remembered even when nothing was lifted: a block from before it may still arrive.
        const seen = this.guard.unblocked.get(d.domain!);
        if (seen === undefined || ms(seen.at) < d.version)
          this.guard.noteUnblock(d.domain!, seen?.incident ?? '', d.version / 1000);
        return lifted > 0 ? 'applied' : 'same';
      }
      case 'allow': {
        const existing = this.guard.overrides.find((o) => o.domain === d.domain && o.client === d.client);
        if (existing !== undefined && ms(existing.at) >= d.version)
          return existing.until === d.until ? 'same' : 'stale';
        this.guard.allow({
          domain: d.domain,
          client: d.client,
          until: d.until,
          by: d.by ?? 'operator',
          at: d.version / 1000,
          origin: d.origin,
        });
        return 'applied';
      }
      case 'quarantine': {
        const existing = this.guard.quarantines.find((q) => q.client === d.client);
        if (existing !== undefined && ms(existing.at) >= d.version)
          return ms(existing.at) === d.version ? 'same' : 'stale';
        const released = this.released.get(d.client!);
        if (released !== undefined && released.version >= d.version) return 'stale';
        this.guard.quarantine({
          client: d.client!,
          until: d.until,
          by: d.by ?? 'operator',
          at: d.version / 1000,
          origin: d.origin,
        });
        return 'applied';
      }
      case 'release': {
        const known = this.released.get(d.client!);
        if (known !== undefined && known.version >= d.version) return 'same';
        this.noteRelease(d);
        const existing = this.guard.quarantines.find((q) => q.client === d.client);
        if (existing === undefined) return 'same';
        if (ms(existing.at) > d.version) return 'stale';
        this.guard.release(d.client!);
        return 'applied';
      }
      case 'rate-block':
      case 'rate-unblock':
        // Dynamic blocks are the defence's, not the guard's (rate-decisions.ts).
        return 'same';
    }
  }

  private applyBlock(d: Decision, now: number): ApplyOutcome {
    const domain = d.domain!;
    const scope = d.scope!;
    const client = d.client!;
    // Local allow wins: a block from elsewhere never lands on a domain (or a client) allowed here.
    const allowed = this.guard.overrides.some(
      (o) =>
        o.until > now &&
        (o.domain === domain || o.domain === undefined) &&
        (o.match === undefined ? o.domain === domain : scope === 'client' && cidrContains(o.match, client)),
    );
    if (allowed) return 'allowlisted';
    const key = scope === 'client' ? clientBlockKey(client, domain) : domain;
    const unblocked = this.guard.unblocked.get(key) ?? this.guard.unblocked.get(domain);
    if (unblocked !== undefined && ms(unblocked.at) >= d.version) return 'stale';
    const map = this.guard.blockMap({ scope });
    const existing = map.peek(key);
    if (existing !== undefined && existing.until > now) {
      const version = ms(existing.since);
      if (version > d.version) return 'stale';
      if (version === d.version && existing.offenses >= (d.offenses ?? 1)) return 'same';
    }
    const reason =
      d.reason ?? `${domain} blocked until ${new Date(d.until * 1000).toISOString()} (incident ${d.incident})`;
    map.set(key, {
      scope,
      until: d.until,
      offenses: d.offenses ?? 1,
      incident: d.incident!,
      since: d.version / 1000,
      reasons: [reason, `decided by node ${d.origin}`],
      stages: [
        { name: 'anatomy', score: 0, evidence: { domain } },
        { name: 'query', score: 0, evidence: {} },
        { name: 'state', score: 0, evidence: {} },
        { name: 'normal', score: 0, evidence: {} },
        {
          name: 'decision',
          score: 1,
          evidence: {
            action: 'block',
            scope: scope === 'client' ? 'client-domain' : 'domain',
            node: d.origin,
            incident: d.incident!,
          },
        },
      ],
      client,
      leaked: d.leaked ?? 0,
      origin: d.origin,
    });
    return 'applied';
  }

  private noteRelease(d: Decision): void {
    this.released.delete(d.client!);
    this.released.set(d.client!, { version: d.version, until: d.until, by: d.by ?? 'operator', origin: d.origin });
    for (const [client, r] of this.released) {
      if (this.released.size <= MAX_RELEASES && r.until > d.version / 1000) break;
      this.released.delete(client);
    }
  }
}
