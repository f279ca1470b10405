/** Small hand-written SVG line charts for docs/performance.md: no charting dependency, stable output for diffs. */

export interface Series {
  name: string;
  points: [number, number][];
  /** Baselines are drawn dashed. */
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  series: Series[];
}

const WIDTH = 720;
const HEIGHT = 400;
const PLOT = { left: 80, right: 190, top: 40, bottom: 60 };
const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0550ae', '#57606a'];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) =>
  n >= 10_000
    ? `${Math.round(n / 1000)}k`
    : n >= 1000
      ? `${(n / 1000).toFixed(1).replace(/\.0$/, '')}k`
      : `${+n.toPrecision(3)}`;

/** A round step (1, 2 or 5 × a power of ten) giving about six ticks up to `max`. */
function linearStep(max: number): number {
  const raw = max / 6;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw)!;
}

/** Tick values: 1-2-5 per decade on a log axis, round steps from zero on a linear one. */
function ticks(min: number, max: number, log: boolean): number[] {
  const out: number[] = [];
  if (log) {
    for (let d = Math.floor(Math.log10(min)); d <= Math.ceil(Math.log10(max)); d++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** d;
        if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
      }
    }
    return out;
  }
  const step = linearStep(max);
  for (let v = 0; v <= max + step / 1000; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** The axis range: whole decades on a log axis; from zero to the next round step on a linear one. */
function range(values: number[], log: boolean): [number, number] {
  if (log) {
    const positive = values.filter((v) => v > 0);
    const lo = Math.min(...positive);
    const hi = Math.max(...positive);
    return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi === lo ? hi * 10 : hi))];
  }
  const hi = Math.max(...values, 0) || 1;
  const step = linearStep(hi);
  return [0, Math.ceil(hi / step) * step];
}

export function lineChart(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = range(xs, !!chart.xLog);
  const [y0, y1] = range(ys, !!chart.yLog);
  const w = WIDTH - PLOT.left - PLOT.right;
  const h = HEIGHT - PLOT.top - PLOT.bottom;
  const scale = (v: number, lo: number, hi: number, log: boolean) =>
    log
      ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
      : (v - lo) / (hi - lo);
  const px = (v: number) => PLOT.left + scale(v, x0, x1, !!chart.xLog) * w;
  const py = (v: number) => PLOT.top + h - scale(v, y0, y1, !!chart.yLog) * h;
  const r = (n: number) => n.toFixed(1);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escape(chart.title)}</text>`,
  ];
  for (const t of ticks(x0, x1, !!chart.xLog)) {
    out.push(
      `<line x1="${r(px(t))}" y1="${PLOT.top}" x2="${r(px(t))}" y2="${PLOT.top + h}" stroke="#eaeef2"/>`,
      `<text x="${r(px(t))}" y="${PLOT.top + h + 16}" text-anchor="middle" fill="#57606a">${fmt(t)}</text>`,
    );
  }
  for (const t of ticks(y0, y1, !!chart.yLog)) {
    out.push(
      `<line x1="${PLOT.left}" y1="${r(py(t))}" x2="${PLOT.left + w}" y2="${r(py(t))}" stroke="#eaeef2"/>`,
      `<text x="${PLOT.left - 8}" y="${r(py(t) + 4)}" text-anchor="end" fill="#57606a">${fmt(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${w}" height="${h}" fill="none" stroke="#8c959f"/>`,
    `<text x="${PLOT.left + w / 2}" y="${HEIGHT - 18}" text-anchor="middle">${escape(chart.xLabel)}</text>`,
    `<text transform="translate(18 ${PLOT.top + h / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const path = s.points.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${r(px(x))} ${r(py(y))}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (s.points.length <= 12) {
      for (const [x, y] of s.points)
        out.push(`<circle cx="${r(px(x))}" cy="${r(py(y))}" r="3" fill="${color}"/>`);
    }
    const ly = PLOT.top + 10 + i * 20;
    const lx = PLOT.left + w + 14;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** A latency CDF: each series' percentiles (0..100) against latency on a log axis. */
export function latencyCdf(
  title: string,
  series: { name: string; percentilesMs: number[]; dashed?: boolean }[],
) {
  return lineChart({
    title,
    xLabel: 'latency (ms, log scale)',
    yLabel: 'share of events at or below (%)',
    xLog: true,
    series: series.map((s) => ({
      name: s.name,
      dashed: s.dashed,
      points: s.percentilesMs.map((ms, p) => [Math.max(ms, 0.1), p] as [number, number]),
    })),
  });
}
