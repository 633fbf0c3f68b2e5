/**
 * The brain: the one place of a node where Tunnel Guard learns and decides, off the query path.
 * It reads every I/O thread's ring of query summaries (summary-ring.ts), runs the detector on
 * each (all five stages, learning, budgets), answers held queries in their own record, and
 * publishes the blocks it decides into the shared block table (block-table.ts), which every
 * I/O thread reads on its next query. Verdicts worth reporting go to `onVerdict` (events, logs).
 *
 * It works in batches of BATCH records per ring and yields to the event loop between them, so
 * the control plane that shares its thread (console, control socket, metrics) stays responsive;
 * when the rings are empty it sleeps on the doorbell until an I/O thread rings.
 * A record that makes the detector throw is let through (fail open) and counted.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { nameLabels, presentName } from '../dns/name.js';
import type { FloodDetector } from '../flood/flood-detector.js';
import { anatomize } from '../guard/name-anatomy.js';
import { isRepeatVerdict, type TunnelGuard } from '../guard/tunnel-guard.js';
import type { Verdict } from '../guard/verdict.js';
import { loadNativeUdp } from '../net/native-udp.js';
import { LatencyHistogram } from '../util/histogram.js';
import { BlockKind, type BlockTable } from './block-table.js';
import { blockText } from './block-text.js';
import type { Doorbell } from './doorbell.js';
import { MAX_NAME, R, RecordFlag, RecordKind, type SummaryRing, VerdictCode } from './summary-ring.js';

const BATCH = 2048;
const BRAIN_NICE = 10;
/** A sleeping brain looks at the rings again after this long at first, doubling while they stay empty, up to IDLE_WAIT_MS. */
const FIRST_WAIT_MS = 1;
const IDLE_WAIT_MS = 50;
/** Detector time buckets, milliseconds (1 µs to 1 ms). */
const DETECTOR_BUCKETS_MS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

export type BrainVerdictSink = (client: string, qname: string, verdict: Verdict, enforced: boolean) => void;

export class Brain {
  private readonly rings = new Map<number, SummaryRing>();
  private stopped = true;
  private wake: (() => void) | null = null;
  private running: Promise<void> | null = null;
  /** Records the detector threw on (let through). */
  failOpen = 0;
  /** Summaries read, and held queries answered. */
  consumed = 0;
  verdictsWritten = 0;
  /**
   * Block verdicts on queries the I/O threads had already let through (not held, not answered
   * from the table): in block mode, queries that passed before the block reached the table; in
   * monitor mode, the queries that would have been blocked.
   */
  passedBeforeBlock = 0;
  readonly detectorTime = new LatencyHistogram(DETECTOR_BUCKETS_MS);
  /**
   * The random-subdomain flood detector, fed from the same records: each new name's registered
   * domain (plain repeats never reach the ring) and failure answers. Null: not fed.
   */
  flood: FloodDetector | null = null;
  private blocksSeen = -1;
  private readonly keyScratch = Buffer.alloc(MAX_NAME);

  constructor(
    private readonly guard: TunnelGuard,
    private readonly table: BlockTable,
    private readonly doorbell: Doorbell,
    private readonly mode: () => 'block' | 'monitor' | 'off',
    private readonly onVerdict: BrainVerdictSink,
    private readonly onError: (error: unknown) => void,
  ) {}

  addRing(thread: number, ring: SummaryRing): void {
    this.rings.set(thread, ring);
  }

  removeRing(thread: number): void {
    this.rings.delete(thread);
  }

  /** Summaries the I/O threads dropped because their ring was full. */
  get dropped(): number {
    let n = 0;
    for (const r of this.rings.values()) n += r.dropped;
    return n;
  }

  /** Summaries waiting in the rings. */
  get backlog(): number {
    let n = 0;
    for (const r of this.rings.values()) n += r.depth;
    return n;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.publish();
    this.running = this.run();
  }

  /**
   * The brain's thread yields the CPU to the I/O threads (nice +BRAIN_NICE, this thread only):
   * on a machine with fewer free cores than busy threads, the scheduler otherwise gives an I/O
   * thread's core to the brain for a whole time slice, and the answers wait (measured: p99 of new
   * names +4 ms at 20k QPS on 2 cores). Under full load the brain then falls behind, and the
   * rings and holds fail open, counted, as designed; on a machine shared with other work the
   * brain also yields to that work, and holds time out more often (measured: a dns2tcp tunnel
   * leaked 19–40 queries with the test machine busy). Hence `guard.brainPriority: low` is a
   * choice, not the default. Without the native addon: no change.
   * Threads inherit their creator's nice value: call this after the I/O threads are started (one
   * restarted later runs at the brain's priority: it cannot be raised again without privilege).
   */
  yieldCpu(): void {
    if (this.niced) return;
    this.niced = true;
    try {
      loadNativeUdp()?.lowerThreadPriority(BRAIN_NICE);
    } catch (err) {
      this.onError(err);
    }
  }

  private niced = false;

  async stop(): Promise<void> {
    this.stopped = true;
    // A pending Atomics.waitAsync does not keep Node's loop alive: wake the loop directly, not
    // through the doorbell, or the process could end in the middle of stopping.
    this.wake?.();
    await this.running;
    this.running = null;
  }

  /**
   * Writes the guard's blocks, quarantines and allows into the shared table. Called after each
   * batch that started a block, and by the control plane after every operator change.
   */
  publish(): void {
    const now = Date.now() / 1000;
    const blocks = this.guard.activeBlocks(now).map((b) => ({
      kind: b.scope === 'client' ? BlockKind.CLIENT_DOMAIN : BlockKind.DOMAIN,
      domain: b.domain,
      client: b.client,
      until: b.until,
      text: blockText(b.reasons[0], b.incident),
    }));
    this.table.publish(blocks);
    this.table.publishLists({
      quarantines: this.guard.quarantines
        .filter((q) => q.until > now)
        .map((q) => ({
          client: q.client,
          until: q.until,
          text: blockText(`client ${q.client} quarantined by ${q.by}`, q.incident),
        })),
      allows: this.guard.overrides
        .filter((o) => o.until > now)
        .map((o) => ({ client: o.client, domain: o.domain, until: o.until })),
    });
    this.blocksSeen = this.blockCount();
  }

  private blockCount(): number {
    const c = this.guard.counters;
    return c.domainBlocks + c.clientDomainBlocks;
  }

  private async run(): Promise<void> {
    let wait = FIRST_WAIT_MS;
    while (!this.stopped) {
      const bell = this.doorbell.value;
      const n = this.drainAll();
      this.doorbell.beat();
      if (n > 0) {
        wait = FIRST_WAIT_MS;
        // Give the control plane its turn between batches.
        await turn();
        continue;
      }
      wait = Math.min(wait * 2, IDLE_WAIT_MS);
      const sleeping = this.doorbell.sleep(bell, wait);
      if (this.backlog > 0 || this.stopped) {
        this.doorbell.awake();
        continue;
      }
      await Promise.race([sleeping, new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = null;
      this.doorbell.awake();
    }
  }

  /** One batch from every ring; how many records were read. */
  drainAll(): number {
    let total = 0;
    for (const ring of this.rings.values()) total += ring.drain((offset) => this.visit(ring, offset), BATCH);
    if (this.blockCount() !== this.blocksSeen) this.publish();
    this.consumed += total;
    return total;
  }

  private visit(ring: SummaryRing, offset: number): void {
    const v = ring.view;
    const kind = v.getUint8(offset + R.KIND);
    const flags = v.getUint8(offset + R.FLAGS);
    const held = (flags & RecordFlag.HOLD) !== 0;
    try {
      const client = ring.readLatin1(offset, R.CLIENT, v.getUint8(offset + R.CLIENT_LENGTH));
      const nameLength = v.getUint8(offset + R.NAME_LENGTH);
      const name = Buffer.from(ring.buffer, ring.bytes.byteOffset + offset + R.NAME, nameLength);
      const ts = v.getFloat64(offset + R.TS, true) / 1000;
      const qtype = v.getUint16(offset + R.QTYPE, true);
      if (kind === RecordKind.ANSWER) {
        const rcode = v.getUint8(offset + R.RCODE);
        if (this.flood !== null && (rcode === 2 || rcode === 3))
          this.flood.observeFailure(anatomize(nameLabels(name, 0).map((l) => l.toLowerCase())).registeredDomain, ts);
        if ((flags & RecordFlag.FAILURE) !== 0) return;
        this.guard.observeResponse({
          ts,
          client,
          labels: nameLabels(name, 0),
          qtype,
          rcode: v.getUint8(offset + R.RCODE),
          answerSize: v.getUint16(offset + R.ANSWER_SIZE, true),
          payloadBytes: v.getUint16(offset + R.PAYLOAD, true),
        });
        return;
      }
      const wireKey = this.wireKey(name);
      if (this.guard.isPlainRepeat(wireKey, client)) {
        if (held) this.answer(ring, offset, VerdictCode.ALLOW, '');
        return;
      }
      const started = performance.now();
      const labels = nameLabels(name, 0);
      const verdict = this.guard.observe({ ts, client, labels, qtype, wireKey, explain: false });
      this.detectorTime.observe(performance.now() - started);
      if (this.flood !== null && !isRepeatVerdict(verdict)) this.flood.observeNewName(verdict.domain, client, ts);
      if (held) {
        const code =
          verdict.action !== 'block'
            ? VerdictCode.ALLOW
            : verdict.scope === 'client'
              ? VerdictCode.QUARANTINE
              : VerdictCode.BLOCK;
        this.answer(
          ring,
          offset,
          code,
          code === VerdictCode.ALLOW ? '' : blockText(verdict.reasons[0], verdict.incident),
        );
      }
      if (verdict.action === 'allow' && verdict.reasons.length === 0) return;
      // Queries the I/O thread answered from the table were blocked in block mode only.
      const enforced = verdict.action === 'block' && this.mode() === 'block';
      if (verdict.action === 'block' && !held && (flags & RecordFlag.BLOCKED) === 0) this.passedBeforeBlock++;
      this.onVerdict(client, presentName(labels), verdict, enforced);
    } catch (error) {
      this.failOpen++;
      if (held) this.answer(ring, offset, VerdictCode.ALLOW, '');
      this.onError(error);
    }
  }

  private answer(ring: SummaryRing, offset: number, code: number, text: string): void {
    ring.view.setUint8(offset + R.VERDICT, code);
    ring.view.setUint16(
      offset + R.VERDICT_TEXT,
      text === '' ? 0 : ring.writeUtf8(offset, R.NAME, text, MAX_NAME),
      true,
    );
    this.verdictsWritten++;
  }

  /** The lower-cased wire name as a latin1 string: the key TunnelGuard's seen-names filter uses (cache-key.ts). */
  private wireKey(name: Buffer): string {
    const s = this.keyScratch;
    for (let i = 0; i < name.length; i++) {
      const c = name[i];
      s[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    return s.toString('latin1', 0, name.length);
  }
}
