/**
 * Query counters kept in plain arrays, read by `/metrics` and the status output. Runs as a
 * pipeline observer, after the reply is sent.
 */
import { qtypeName, RcodeName } from '../dns/wire.js';
import type { QueryContext } from '../pipeline/query-context.js';
import type { Observer } from '../pipeline/stage.js';
import { LatencyHistogram } from '../util/histogram.js';

export class QueryStats implements Observer {
  readonly name = 'stats';
  readonly byTransport = { udp: 0, tcp: 0, tls: 0, https: 0 };
  /** Indexed by qtype: 512 KiB once, instead of a Map update per query. */
  private readonly byQtype = new Float64Array(65536);
  private readonly byRcode = new Float64Array(16);
  readonly byResponseType = new Map<string, number>();
  readonly latency = new LatencyHistogram();

  observe(ctx: QueryContext): void {
    this.byTransport[ctx.transport]++;
    this.byResponseType.set(ctx.responseType, (this.byResponseType.get(ctx.responseType) ?? 0) + 1);
    const answer = ctx.answer;
    if (answer === null) return;
    this.byQtype[ctx.query.qtype]++;
    this.byRcode[answer[3] & 0xf]++;
    this.latency.observe(performance.now() - ctx.startedAt);
  }

  qtypes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let t = 0; t < this.byQtype.length; t++) if (this.byQtype[t] > 0) out[qtypeName(t)] = this.byQtype[t];
    return out;
  }

  rcodes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let r = 0; r < 16; r++) if (this.byRcode[r] > 0) out[RcodeName[r] ?? `RCODE${r}`] = this.byRcode[r];
    return out;
  }
}
