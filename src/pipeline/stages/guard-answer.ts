/**
 * How Tunnel Guard answers what it blocks, the same whether the detector runs inline
 * (guard-stage.ts) or in the brain behind an I/O thread's gate (guard-gate-stage.ts):
 * NXDOMAIN, REFUSED or a sinkhole, with an RFC 8914 "Blocked" error carrying the reason and the
 * incident; and the block answers counted by reason, for dnsward_blocks_total.
 */
import { buildBlockReply, MAX_EDE_TEXT } from '../../dns/reply.js';
import { ExtendedError } from '../../dns/wire.js';
import { ipBytes } from '../../util/ip-bytes.js';
import type { QueryContext } from '../query-context.js';

/** How Tunnel Guard's blocks are answered, and whether they are enforced. */
export interface GuardSettings {
  mode: 'block' | 'monitor' | 'off';
  blockAnswer: 'nxdomain' | 'refused' | 'sinkhole';
  quarantineAnswer: 'refused' | 'sinkhole';
  sinkhole: { ipv4: string; ipv6: string };
}

export class GuardAnswer {
  private ipv4: Uint8Array = new Uint8Array(4);
  private ipv6: Uint8Array = new Uint8Array(16);
  private settings!: GuardSettings;
  /** Block answers by reason (enforced or only reported). */
  private readonly byReason = new Map<string, number>();

  constructor(settings: GuardSettings) {
    this.configure(settings);
  }

  configure(settings: GuardSettings): void {
    this.settings = settings;
    // The schema checked both addresses.
    this.ipv4 = ipBytes(settings.sinkhole.ipv4)!;
    this.ipv6 = ipBytes(settings.sinkhole.ipv6)!;
  }

  /** The answer to a blocked query (`quarantine`: its client is quarantined) and its EDE text. */
  reply(ctx: QueryContext, reason: string, quarantine: boolean): { reply: Buffer; text: string } {
    const text = reason.slice(0, MAX_EDE_TEXT);
    const ede = { code: ExtendedError.BLOCKED, text };
    const answer = quarantine ? this.settings.quarantineAnswer : this.settings.blockAnswer;
    return { reply: buildBlockReply(ctx.request, ctx.query, answer, this.ipv4, this.ipv6, ede), text };
  }

  count(reason: string, enforced: boolean): void {
    const key = `${reason}|${enforced}`;
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
  }

  counts(stage: string): Array<{ stage: string; reason: string; enforced: boolean; count: number }> {
    return [...this.byReason].map(([key, count]) => {
      const [reason, enforced] = key.split('|');
      return { stage, reason, enforced: enforced === 'true', count };
    });
  }
}
