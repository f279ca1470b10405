import { h, svg } from './dom.js';
import { duration } from './task-model.js';

/** The step timeline's width in SVG units: it spans the card. */
const WIDTH = 1000;
const ROW = 26;
const LABEL = 300;
/** A bar chart's, in pixels: drawn at its size (no larger), so its text keeps the page's size; it shrinks to fit. */
const CHART_WIDTH = 420;
const CHART_LABEL = 140;

const number = (value) =>
  Math.abs(value) >= 1e6 || (value !== 0 && Math.abs(value) < 1e-3)
    ? value.toExponential(3)
    : value.toLocaleString(undefined, { maximumFractionDigits: 3 });

/**
 * A horizontal bar chart: one labelled bar per item, scaled to the largest value, its value at the end. An SVG with
 * its own title, and the same numbers as a list for screen readers.
 */
export function barChart(title, items) {
  const max = Math.max(...items.map((i) => Math.abs(i.value)), 0) || 1;
  const height = items.length * ROW;
  const rows = items.map((item, i) => {
    const y = i * ROW;
    const width = Math.max(1, (Math.abs(item.value) / max) * (CHART_WIDTH - CHART_LABEL - 80));
    return svg(
      'g',
      {},
      svg(
        'text',
        { x: CHART_LABEL - 8, y: y + 17, class: 'chart-label', 'text-anchor': 'end' },
        clip(item.label, 20),
      ),
      svg('rect', { x: CHART_LABEL, y: y + 4, width, height: ROW - 8, class: 'chart-bar', rx: 2 }),
      svg('text', { x: CHART_LABEL + width + 6, y: y + 17, class: 'chart-value' }, number(item.value)),
    );
  });
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, title),
    svg(
      'svg',
      {
        viewBox: `0 0 ${CHART_WIDTH} ${height}`,
        width: CHART_WIDTH,
        height,
        role: 'img',
        'aria-label': title,
        preserveAspectRatio: 'xMinYMin meet',
      },
      rows,
    ),
  );
}

function clip(text, max = 36) {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * A task's steps on one time axis, from the first start to the last end (or now): a bar per step from its start to
 * its end, coloured by status; a rule where a new slice begins. Steps without a start (old checkpoints) get no bar.
 */
export function stepTimeline(steps, now = Date.now()) {
  const timed = steps.filter((s) => s.startedAt);
  const start = Math.min(...timed.map((s) => Date.parse(s.startedAt)));
  const end = Math.max(...timed.map((s) => (s.finishedAt ? Date.parse(s.finishedAt) : now)), start + 1);
  const x = (ms) => LABEL + ((ms - start) / (end - start)) * (WIDTH - LABEL - 10);
  const rows = [];
  let slice;
  steps.forEach((step, i) => {
    const y = i * ROW;
    if (step.slice !== null && slice !== undefined && step.slice !== slice) {
      rows.push(svg('line', { x1: 0, x2: WIDTH, y1: y, y2: y, class: 'slice-rule' }));
      rows.push(
        svg(
          'text',
          { x: WIDTH - 4, y: y + 11, class: 'slice-label', 'text-anchor': 'end' },
          `slice ${step.slice}`,
        ),
      );
    }
    if (step.slice !== null) slice = step.slice;
    rows.push(
      svg('text', { x: LABEL - 8, y: y + 17, class: 'chart-label', 'text-anchor': 'end' }, clip(step.name)),
    );
    if (step.startedAt) {
      const from = x(Date.parse(step.startedAt));
      const to = x(step.finishedAt ? Date.parse(step.finishedAt) : now);
      rows.push(
        svg(
          'rect',
          {
            x: from,
            y: y + 5,
            width: Math.max(2, to - from),
            height: ROW - 10,
            class: `step-bar step-${step.status}`,
          },
          svg('title', {}, `${step.name}: ${step.status}, ${duration(step.durationMs ?? 0)}`),
        ),
      );
    }
  });
  return svg(
    'svg',
    {
      viewBox: `0 0 ${WIDTH} ${Math.max(ROW, steps.length * ROW)}`,
      class: 'step-timeline',
      role: 'img',
      'aria-label': `Timeline of ${steps.length} steps`,
      preserveAspectRatio: 'xMinYMin meet',
    },
    rows,
  );
}
