import { api } from './api.js';
import { barChart } from './charts.js';
import { card, dataTable, detail, statusBadge, timeOf } from './components.js';
import { h } from './dom.js';
import { duration, shortId, STATUSES } from './task-model.js';

/** How often the view reads the numbers again. */
const REFRESH_MS = 10_000;
/** Hours of "tasks created per hour" shown. */
const HOURS = 12;

const taskLink = (id) => h('a', { href: `#/tasks/${id}` }, h('code', {}, shortId(id)));

/**
 * The operators' view (admin role): task counts by status and type, the queue's depths, the oldest queued task, stalled
 * and running tasks, tasks created per hour by status, and the dead letters with their reason, a retry of their task
 * and their removal. A caller without the admin role gets the API's 403, said in words.
 */
export function adminView() {
  let destroyed = false;
  let timer;
  const notice = h('p', { class: 'form-notice', role: 'status' });
  const counts = h('div', { class: 'stat-grid' });
  const queue = h('dl', { class: 'details' });
  const byType = h('div', {});
  const running = h('div', {});
  const hourly = h('div', {});
  const letters = h('div', {});

  const element = h(
    'article',
    { class: 'admin-view' },
    h('h1', { tabindex: -1 }, 'Operations'),
    notice,
    card('counts-heading', 'Tasks by status', {}, counts, byType),
    h(
      'div',
      { class: 'columns' },
      card('queue-heading', 'Queue', {}, queue),
      card('running-heading', 'Running and stalled', {}, running),
    ),
    card('hourly-heading', `Tasks created per hour (last ${HOURS} h), by status now`, {}, hourly),
    card('letters-heading', 'Dead letters', {}, letters),
  );

  const renderStats = (stats) => {
    counts.replaceChildren(
      ...STATUSES.map((status) =>
        h(
          'div',
          { class: 'stat', 'data-status': status },
          statusBadge(status),
          h('span', { class: 'stat-value' }, stats.tasks.byStatus[status].toLocaleString()),
        ),
      ),
    );
    byType.replaceChildren(
      dataTable(
        'Tasks by type',
        ['type', 'total', ...STATUSES],
        stats.tasks.byType.map((t) => [t.type, t.total, ...STATUSES.map((s) => t.byStatus[s])]),
      ),
    );
    const q = stats.queue;
    const oldest = stats.oldestQueued;
    queue.replaceChildren(
      ...detail('Queue', h('code', {}, q.name)),
      ...detail('Active', `${q.activeCount}${q.truncated ? '+' : ''}`),
      ...detail('Scheduled', String(q.scheduledCount)),
      ...detail('Deferred', String(q.deferredCount)),
      ...detail('Dead-lettered', String(q.deadLetterCount)),
      ...detail(
        'Oldest queued',
        oldest ? [taskLink(oldest.id), ` for ${duration(oldest.ageSeconds * 1000)}`] : 'none',
      ),
      ...detail('As of', timeOf(stats.generatedAt)),
    );
  };

  const renderRunning = (stats, page) => {
    const stalled = new Set(stats.stalled.tasks.map((t) => t.id));
    running.replaceChildren(
      page.items.length === 0 && stats.stalled.count === 0
        ? h('p', { class: 'empty' }, 'Nothing is running.')
        : dataTable(
            'Running tasks',
            ['task', 'type', 'step', 'progress', 'running for', 'state'],
            [
              ...page.items.map((t) => [
                taskLink(t.id),
                t.type,
                t.progress?.step ?? '',
                t.progress?.message ?? '',
                duration(Date.now() - Date.parse(t.startedAt ?? t.createdAt)),
                stalled.has(t.id) ? 'stalled' : 'live',
              ]),
              ...stats.stalled.tasks
                .filter((t) => !page.items.some((r) => r.id === t.id))
                .map((t) => [taskLink(t.id), t.type, '', '', '', `stalled, silent ${t.silentSeconds} s`]),
            ],
          ),
    );
  };

  const renderHourly = (buckets) => {
    hourly.replaceChildren(
      h(
        'div',
        { class: 'charts' },
        barChart(
          'Tasks created per hour',
          buckets.map((b) => ({ label: b.label, value: b.counts.total })),
        ),
      ),
      dataTable(
        'Tasks created per hour, by status now',
        ['hour', ...STATUSES],
        buckets.map((b) => [b.label, ...STATUSES.map((s) => b.counts.byStatus[s])]),
      ),
    );
  };

  const renderLetters = (items) => {
    letters.replaceChildren(
      items.length === 0
        ? h('p', { class: 'empty' }, 'No dead letters.')
        : dataTable(
            'Dead letters',
            ['enqueued', 'task', 'kind', 'reason', 'description', 'task status', 'actions'],
            items.map((d) => [
              d.enqueuedAt ? timeOf(d.enqueuedAt) : '',
              d.taskId ? taskLink(d.taskId) : '—',
              d.kind,
              d.reason ?? '',
              d.description ?? '',
              d.taskStatus ? statusBadge(d.taskStatus) : '',
              h(
                'div',
                { class: 'row-actions' },
                d.taskId && d.taskStatus === 'failed'
                  ? button('Retry task', () => api.retry(d.taskId), `Task ${shortId(d.taskId)} queued again.`)
                  : undefined,
                button(
                  'Delete',
                  () => api.removeDeadLetter(d.sequenceNumber),
                  `Dead letter ${d.sequenceNumber} deleted.`,
                ),
              ),
            ]),
          ),
    );
  };

  /** A button whose action is followed by a notice and a reload of the numbers. */
  const button = (label, action, done) =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async (event) => {
          event.currentTarget.disabled = true;
          try {
            await action();
            notice.textContent = done;
          } catch (err) {
            notice.textContent = err.message;
          }
          await load();
        },
      },
      label,
    );

  const hourlyCounts = async () => {
    const now = new Date();
    now.setMinutes(0, 0, 0);
    const starts = Array.from(
      { length: HOURS },
      (_, i) => new Date(now.getTime() - (HOURS - 1 - i) * 3_600_000),
    );
    return Promise.all(
      starts.map(async (start) => ({
        label: start.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }),
        counts: await api.counts({
          createdAfter: start.toISOString(),
          createdBefore: new Date(start.getTime() + 3_600_000).toISOString(),
        }),
      })),
    );
  };

  const load = async () => {
    clearTimeout(timer);
    try {
      const [stats, page, buckets, dead] = await Promise.all([
        api.adminStats(),
        api.list({ status: 'running', limit: 50 }),
        hourlyCounts(),
        api.deadLetters(),
      ]);
      if (destroyed) return;
      renderStats(stats);
      renderRunning(stats, page);
      renderHourly(buckets);
      renderLetters(dead.items);
    } catch (err) {
      notice.textContent =
        err.status === 403
          ? 'This page needs the admin role: sign in with an admin key or an account that has it.'
          : `The numbers could not be read: ${err.message}`;
    }
    if (!destroyed) timer = setTimeout(load, REFRESH_MS);
  };

  void load();
  return {
    element,
    tick: () => undefined,
    destroy() {
      destroyed = true;
      clearTimeout(timer);
    },
  };
}
