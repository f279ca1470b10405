import { api } from './api.js';
import { card, setBadge, statusBadge, taskProgress, timeOf } from './components.js';
import { h } from './dom.js';
import { applyEvent, duration, failureText, shortId, STATUSES } from './task-model.js';

const PAGE_SIZE = 20;
/** Events come in bursts (a new task, several finishing at once): one reload for a burst. */
const REFRESH_DELAY_MS = 250;

function taskRow(task) {
  const badge = statusBadge(task.status);
  const progress = taskProgress(`Progress of ${task.type} ${shortId(task.id)}`);
  const meta = h('p', { class: 'task-meta' });
  const failure = h('p', { class: 'task-failure', hidden: true });
  const element = h(
    'li',
    { class: 'task-item', 'data-task-id': task.id },
    h(
      'div',
      { class: 'task-line' },
      h(
        'a',
        { href: `#/tasks/${task.id}`, class: 'task-link' },
        h('span', { class: 'task-type' }, task.type),
        ' ',
        h('code', {}, shortId(task.id)),
      ),
      badge,
    ),
    progress.element,
    meta,
    failure,
  );
  const row = {
    task,
    element,
    set(next) {
      row.task = next;
      setBadge(badge, next.status);
      progress.update(next);
      const took = next.finishedAt
        ? ` · took ${duration(Date.parse(next.finishedAt) - Date.parse(next.createdAt))}`
        : '';
      meta.replaceChildren('Created ', timeOf(next.createdAt), took);
      failure.hidden = !next.error;
      failure.textContent = next.error ? failureText(next.error) : '';
    },
    tick: progress.tick,
  };
  row.set(task);
  return row;
}

/**
 * The caller's tasks from the server, newest first, paged with the API's cursor and filtered by status and type.
 * It is kept current by the page's one `GET /api/events` stream (`onEvent`), or by `load` while that is down.
 */
export function taskList(types) {
  const statusFilter = h(
    'select',
    { id: 'filter-status' },
    h('option', { value: '' }, 'All'),
    STATUSES.map((s) => h('option', { value: s }, s)),
  );
  const typeFilter = h(
    'select',
    { id: 'filter-type' },
    h('option', { value: '' }, 'All'),
    types.map((t) => h('option', { value: t.type }, t.type)),
  );
  const list = h('ul', { class: 'task-list', 'aria-labelledby': 'tasks-heading' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No tasks match.');
  const failure = h('p', { class: 'form-error', role: 'alert' });
  const newer = h('button', { type: 'button', class: 'secondary' }, '← Newer');
  const older = h('button', { type: 'button', class: 'secondary' }, 'Older →');
  const pageLabel = h('span', { class: 'page-label' });

  let rows = new Map();
  /** Cursors of the pages before this one; `cursor` is this page's (undefined: the first). */
  const previous = [];
  let cursor;
  let nextCursor = null;
  let refreshTimer;
  /**
   * Events that arrive while a page is being fetched: the page may have been read before them, so they are applied
   * again over it (in order, ending at the newest state) instead of being lost to a stale read.
   */
  let eventsDuringLoad;

  const render = (items) => {
    const next = new Map(items.map((task) => [task.id, rows.get(task.id) ?? taskRow(task)]));
    for (const task of items) next.get(task.id).set(task);
    const shown = [...rows.keys()];
    const sameOrder = items.length === shown.length && items.every((t, i) => shown[i] === t.id);
    rows = next;
    // Rows are updated in place when the page holds the same tasks, so focus stays where it was.
    if (!sameOrder) list.replaceChildren(...[...rows.values()].map((r) => r.element));
    empty.hidden = items.length > 0;
    newer.disabled = previous.length === 0;
    older.disabled = !nextCursor;
    pageLabel.textContent = `Page ${previous.length + 1}`;
  };

  const load = async () => {
    const seen = [];
    eventsDuringLoad = seen;
    try {
      const page = await api.list({
        status: statusFilter.value,
        type: typeFilter.value,
        limit: PAGE_SIZE,
        cursor,
      });
      nextCursor = page.nextCursor;
      failure.textContent = '';
      render(page.items);
      for (const event of seen) rows.get(event.taskId)?.set(applyEvent(rows.get(event.taskId).task, event));
    } catch (err) {
      failure.textContent = `The task list could not be loaded: ${err.message}`;
    } finally {
      if (eventsDuringLoad === seen) eventsDuringLoad = undefined;
    }
  };

  const reloadSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(load, REFRESH_DELAY_MS);
  };

  const goTo = (pageCursor) => {
    cursor = pageCursor;
    return load();
  };
  const restart = () => {
    previous.length = 0;
    return goTo(undefined);
  };
  statusFilter.addEventListener('change', restart);
  typeFilter.addEventListener('change', restart);
  older.addEventListener('click', () => {
    previous.push(cursor);
    return goTo(nextCursor);
  });
  newer.addEventListener('click', () => goTo(previous.pop()));

  /** An event of the caller's stream: updates its row in place, or reloads when the page should change. */
  const onEvent = (type, event) => {
    // A (re)connected stream starts with a snapshot: anything may have changed while it was down.
    if (type === 'snapshot') return reloadSoon();
    if (!event.taskId) return;
    eventsDuringLoad?.push(event);
    const row = rows.get(event.taskId);
    if (row) {
      row.set(applyEvent(row.task, event));
      if (statusFilter.value && row.task.status !== statusFilter.value) reloadSoon();
    } else if (type === 'status' && cursor === undefined) {
      // A task new to the first page (submitted elsewhere): tasks announce themselves with a status event.
      reloadSoon();
    }
  };

  const filters = h(
    'div',
    { class: 'filters' },
    h('span', { class: 'filter' }, h('label', { for: 'filter-status' }, 'Status'), statusFilter),
    h('span', { class: 'filter' }, h('label', { for: 'filter-type' }, 'Type'), typeFilter),
  );
  const element = card(
    'tasks-heading',
    'Tasks',
    { aside: filters },
    failure,
    list,
    empty,
    h('nav', { class: 'pager', 'aria-label': 'Task pages' }, newer, pageLabel, older),
  );

  load();
  return {
    element,
    load,
    /** After a submit from this page: the first page shows the new task at once. */
    refresh: () => (cursor === undefined ? load() : undefined),
    onEvent,
    tick: (now) => rows.forEach((row) => row.tick(now)),
    destroy: () => clearTimeout(refreshTimer),
  };
}
