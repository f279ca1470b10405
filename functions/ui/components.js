import { h } from './dom.js';
import { duration, elapsedMs, etaMs, percentOf, progressText } from './task-model.js';

/** A status badge; `setBadge` changes it in place. Text and colour both carry the status. */
export function statusBadge(status) {
  return setBadge(h('span', {}), status);
}

export function setBadge(badge, status) {
  badge.className = `badge badge-${status}`;
  badge.textContent = status;
  return badge;
}

/** A time element in the reader's locale, with the ISO time for machines. */
export function timeOf(iso, withDate = true) {
  const date = new Date(iso);
  const text = withDate
    ? date.toLocaleString()
    : date.toLocaleTimeString(undefined, {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        fractionalSecondDigits: 3,
        hour12: false,
      });
  return h('time', { datetime: iso }, text);
}

/** What the bar says before a task reports any progress. */
const IDLE_TEXT = { queued: 'Waiting for a worker', running: 'Running', waiting: 'Waiting (no worker held)' };

/**
 * A task's progress bar with its message and percentage, elapsed time and ETA. `update(task)` redraws it in place
 * (so focus and screen readers are not disturbed by a new element), `tick(now)` only the times.
 */
export function taskProgress(label) {
  const bar = h('progress', { max: 100, 'aria-label': label });
  const text = h('span', { class: 'progress-text' });
  const elapsed = h('span', { class: 'elapsed' });
  const eta = h('span', { class: 'eta' });
  const element = h(
    'div',
    { class: 'task-progress' },
    h('div', { class: 'bar-line' }, bar, text),
    h('div', { class: 'times' }, elapsed, eta),
  );
  let task;
  const tick = (now = Date.now()) => {
    if (!task) return;
    elapsed.textContent = `Elapsed ${duration(elapsedMs(task, now))}`;
    const remaining = etaMs(task, now);
    eta.textContent = remaining === undefined ? '' : `ETA ${duration(remaining)}`;
  };
  const update = (next) => {
    task = next;
    const percent = task.status === 'succeeded' ? 100 : percentOf(task.progress);
    // No value: an indeterminate bar, for running work that has not reported a percentage.
    if (percent === undefined && task.status === 'running') bar.removeAttribute('value');
    else bar.value = percent ?? 0;
    bar.className = `bar-${task.status}`;
    text.textContent = progressText(task.progress) || IDLE_TEXT[task.status] || task.status;
    tick();
  };
  return { element, update, tick };
}

/** A titled section, named by its heading for assistive technology; `aside` sits beside the heading. */
export function card(id, title, { className = '', aside, hidden = false } = {}, ...children) {
  const heading = h('h2', { id }, title);
  return h(
    'section',
    { class: `card ${className}`.trim(), 'aria-labelledby': id, hidden },
    aside ? h('div', { class: 'card-head' }, heading, aside) : heading,
    ...children,
  );
}

/** A cell's content: numbers in the reader's locale, nodes as they are, nothing for null. */
function cellContent(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return value.toLocaleString(undefined, { maximumFractionDigits: 3 });
  return value instanceof Node ? value : String(value);
}

/** A table in a scrollable region named `label`; `rows` are arrays of cells, in the order of `columns`. */
export function dataTable(label, columns, rows, caption) {
  return h(
    'div',
    { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': label },
    h(
      'table',
      { class: 'data-table' },
      caption ? h('caption', {}, caption) : undefined,
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            {},
            row.map((cell) => h('td', {}, cellContent(cell))),
          ),
        ),
      ),
    ),
  );
}

/** A term and its description, for a `<dl>`. */
export function detail(term, ...value) {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}
