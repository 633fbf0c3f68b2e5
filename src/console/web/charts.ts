/** Line charts drawn as SVG, no library: a few series over time, auto-scaled, with a legend. */
import { h } from './dom.js';

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

const NS = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 170;
const PAD = { l: 44, r: 8, t: 8, b: 18 };

function el(tag: string, attrs: Record<string, string | number>): SVGElement {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export function lineChart(
  title: string,
  series: Series[],
  format: (v: number) => string,
  fixedMax?: number,
): HTMLElement {
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    role: 'img',
    'aria-label': title,
  }) as SVGSVGElement;
  const all = series.flatMap((s) => s.points);
  // The data's own span (at least 10 s), so a burst of a few seconds is not a vertical line.
  const first = all.length ? Math.min(...all.map((p) => p[0])) : Date.now() - 60_000;
  const x1 = Math.max(all.length ? Math.max(...all.map((p) => p[0])) : Date.now(), first + 10_000);
  const x0 = Math.min(first, x1 - 10_000);
  const yMax = fixedMax !== undefined ? fixedMax * 1.1 : Math.max(1e-9, ...all.map((p) => p[1])) * 1.1;
  const x = (t: number) => PAD.l + ((t - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b);
  svg.append(el('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis' }));
  for (const f of [0, 0.5, 1]) {
    const label = el('text', { x: 2, y: y((yMax / 1.1) * f) + 3 });
    label.textContent = format((yMax / 1.1) * f);
    svg.append(label);
  }
  const right = el('text', { x: W - PAD.r - 40, y: H - 4 });
  right.textContent = new Date(x1).toLocaleTimeString();
  svg.append(right);
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    svg.append(el('path', { d, fill: 'none', stroke: s.color, 'stroke-width': 1.8 }));
  }
  return h(
    'div',
    { class: 'card' },
    h('h2', {}, title),
    svg,
    h(
      'div',
      { class: 'legend' },
      series.map((s) => h('span', {}, h('i', { style: `background:${s.color}` }), s.name)),
    ),
  );
}
