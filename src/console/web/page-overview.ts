/** Overview: live numbers and charts, upstream health. */
import { api } from './client.js';
import { lineChart } from './charts.js';
import { clear, h, num, table } from './dom.js';
import type { StatsSample } from './types.js';

interface Overview {
  guardMode: string;
  monitorUntil: number | null;
  totals: { queries: number; activeBlocks: number; eventsDropped: number };
  upstreams: Array<{
    pool: string;
    name: string;
    healthy: boolean;
    latencyAvgMs: number;
    queries: number;
    timeouts: number;
  }>;
  series: StatsSample[];
}

export class OverviewPage {
  private data: Overview | null = null;

  constructor(private readonly root: HTMLElement) {}

  async load(): Promise<void> {
    this.data = await api<Overview>('/api/overview');
    this.render();
  }

  /** A new per-second sample from the live stream. */
  onStats(s: StatsSample): void {
    if (this.data === null) return;
    this.data.series.push(s);
    if (this.data.series.length > 3600) this.data.series.shift();
    this.data.upstreams = this.data.upstreams.map((u) => ({
      ...u,
      healthy: s.upstreams.find((x) => x.name === u.name)?.healthy ?? u.healthy,
    }));
    this.render();
  }

  private render(): void {
    const d = this.data!;
    const last = d.series[d.series.length - 1];
    const recent = d.series.slice(-600);
    const pts = (f: (s: StatsSample) => number): Array<[number, number]> => recent.map((s) => [s.t, f(s)]);
    const stat = (label: string, value: string, id: string) =>
      h('div', { class: 'card stat', id }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
    clear(
      this.root,
      h('h1', {}, 'Overview'),
      h(
        'div',
        { class: 'grid' },
        stat('Queries / s', last ? num(last.qps, 1) : '–', 'stat-qps'),
        stat('Latency p50 / p99', last ? `${last.p50ms} / ${last.p99ms} ms` : '–', 'stat-latency'),
        stat('Cache hit ratio', last ? `${Math.round(last.cacheHitRatio * 100)} %` : '–', 'stat-cache'),
        stat('Active blocks', num(d.totals.activeBlocks), 'stat-blocks'),
        stat(
          'Tunnel Guard',
          d.monitorUntil ? `monitor until ${new Date(d.monitorUntil * 1000).toLocaleTimeString()}` : d.guardMode,
          'stat-mode',
        ),
      ),
      h(
        'div',
        { class: 'grid wide' },
        lineChart(
          'Queries and blocks per second (last 10 minutes)',
          [
            { name: 'queries/s', color: 'var(--accent)', points: pts((s) => s.qps) },
            { name: 'blocks/s', color: 'var(--danger)', points: pts((s) => s.blocksPerSecond) },
          ],
          (v) => num(v, 1),
        ),
        lineChart(
          'Latency (ms)',
          [
            { name: 'p50', color: 'var(--ok)', points: pts((s) => s.p50ms) },
            { name: 'p90', color: 'var(--warn)', points: pts((s) => s.p90ms) },
            { name: 'p99', color: 'var(--danger)', points: pts((s) => s.p99ms) },
          ],
          (v) => `${num(v, 2)}`,
        ),
        lineChart(
          'Cache hit ratio',
          [{ name: 'hit ratio', color: 'var(--accent)', points: pts((s) => s.cacheHitRatio * 100) }],
          (v) => `${Math.round(v)}%`,
          100,
        ),
      ),
      h('h2', {}, 'Upstreams'),
      table(
        ['upstream', 'pool', 'health', 'queries', 'timeouts', 'average latency'],
        d.upstreams.map((u) => [
          h('span', { class: 'mono' }, u.name),
          u.pool,
          h('span', { class: `chip ${u.healthy ? 'ok' : 'block'}` }, u.healthy ? 'up' : 'down'),
          num(u.queries),
          num(u.timeouts),
          `${u.latencyAvgMs.toFixed(2)} ms`,
        ]),
      ),
    );
  }
}
