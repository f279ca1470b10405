import { api, hasCredential, resultUrl, streamUrl, taskEventsUrl } from './api.js';
import { stepTimeline } from './charts.js';
import { card, dataTable, detail, setBadge, statusBadge, taskProgress, timeOf } from './components.js';
import { h } from './dom.js';
import { resultView } from './result-views.js';
import { LiveStream } from './live.js';
import { signalForm } from './signal-form.js';
import {
  applyEvent,
  describeEvent,
  duration,
  failureText,
  FINISHED,
  shortId,
  waitingText,
} from './task-model.js';

/** Longer results are cut in the page (the download has it all). */
const MAX_SHOWN_CHARS = 200_000;
/** How often the steps are read again while the task runs: the worker records the step in flight at each heartbeat. */
const STEPS_REFRESH_MS = 3_000;

/**
 * One task: status, progress with elapsed time and ETA, details, error, result, and the timeline of its events —
 * the persisted history first (JSON), then the task's stream from there on (`?lastEventId=`), so nothing is missed
 * or shown twice. A reload starts over the same way and picks up live.
 */
export function taskView(id) {
  let task;
  let lastSeq = 0;
  let stream;
  let destroyed = false;
  let lastProgressEntry;
  let finishing;

  const heading = h('h1', { tabindex: -1 }, 'Task ', h('code', {}, shortId(id)));
  const badge = statusBadge('queued');
  badge.hidden = true;
  const cancelButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'Cancel task…');
  const retryButton = h('button', { type: 'button', hidden: true }, 'Retry from the failed step');
  const rerunButton = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Run again');
  const inputBody = h('pre', { class: 'input-json', tabindex: 0, 'aria-label': 'Input as JSON' }, 'Loading…');
  const inputCard = card(
    'input-heading',
    'Input',
    {},
    h('details', {}, h('summary', {}, 'The input the task was accepted with'), inputBody),
  );
  const waitingLine = h('p', {});
  const waitingForm = h('div', {});
  const waitingCard = card('waiting-heading', 'Waiting', { hidden: true }, waitingLine, waitingForm);
  /** The signal whose form is shown, so a render does not rebuild it (and lose what was typed). */
  let formFor;
  const stepsBody = h('div', { class: 'steps' });
  const stepsCard = card('steps-heading', 'Steps', { hidden: true }, stepsBody);
  let stepsLoadedAt = 0;
  const notice = h('p', { class: 'form-notice', role: 'status' });
  const progress = taskProgress('Task progress');
  const details = h('dl', { class: 'details' });
  const errorText = h('p', {});
  const errorCard = card('error-heading', 'Error', { className: 'error-card', hidden: true }, errorText);
  const resultBody = h('div', {});
  const download = h(
    'a',
    { href: resultUrl(id), download: `result-${id}.json`, class: 'button' },
    'Download JSON',
  );
  download.addEventListener('click', async (event) => {
    if (!hasCredential()) return; // without a credential, the plain link downloads
    event.preventDefault();
    try {
      const url = URL.createObjectURL(await api.resultFile(id));
      h('a', { href: url, download: `result-${id}.json` }).click();
      // The download has started with the click; the URL is only needed until then.
      setTimeout(() => URL.revokeObjectURL(url), 1_000);
    } catch (err) {
      notice.textContent = `The result could not be downloaded: ${err.message}`;
    }
  });
  const resultCard = card('result-heading', 'Result', { aside: download, hidden: true }, resultBody);
  const timeline = h('ol', { class: 'timeline', 'aria-labelledby': 'timeline-heading' });
  const logs = h('ol', { class: 'logs', 'aria-labelledby': 'logs-heading' });
  const noLogs = h('p', { class: 'empty' }, 'No log entries.');

  const dialog = h(
    'dialog',
    { class: 'confirm', 'aria-labelledby': 'confirm-heading' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'confirm-heading' }, 'Cancel this task?'),
      h('p', {}, 'The worker stops it at its next step. A cancelled task cannot be resumed.'),
      h(
        'div',
        { class: 'actions' },
        // First, so it has the focus when the dialog opens: the safe choice.
        h('button', { value: 'keep', class: 'secondary' }, 'Keep it running'),
        h('button', { value: 'cancel', class: 'danger' }, 'Cancel task'),
      ),
    ),
  );

  const element = h(
    'article',
    { class: 'task-view' },
    h('p', { class: 'back' }, h('a', { href: '#/' }, '← All tasks')),
    h(
      'div',
      { class: 'task-head' },
      heading,
      badge,
      h('div', { class: 'actions' }, retryButton, rerunButton, cancelButton),
    ),
    notice,
    h('section', { class: 'card', 'aria-label': 'Progress' }, progress.element),
    waitingCard,
    errorCard,
    resultCard,
    stepsCard,
    h(
      'div',
      { class: 'columns' },
      card('timeline-heading', 'Timeline', {}, timeline),
      card('logs-heading', 'Logs', {}, logs, noLogs),
    ),
    card('details-heading', 'Details', {}, details),
    inputCard,
    dialog,
  );

  const render = () => {
    heading.replaceChildren(h('span', { class: 'task-type' }, task.type), ' ', h('code', {}, shortId(id)));
    document.title = `${task.type} ${shortId(id)} (${task.status}) · Longhaul`;
    badge.hidden = false;
    setBadge(badge, task.status);
    const finished = FINISHED.has(task.status);
    cancelButton.hidden = finished;
    cancelButton.disabled = task.cancelRequested;
    cancelButton.textContent = task.cancelRequested ? 'Cancellation requested' : 'Cancel task…';
    retryButton.hidden = task.status !== 'failed';
    rerunButton.hidden = false;
    progress.update(task);
    const when = (iso) => (iso ? timeOf(iso) : '—');
    details.replaceChildren(
      ...detail('Id', h('code', {}, task.id)),
      ...detail('Type', task.type),
      ...detail('Created', when(task.createdAt)),
      ...detail('Started', when(task.startedAt)),
      ...detail('Finished', when(task.finishedAt)),
      // Each retry after a transient failure is a new attempt; the timeline has the reasons.
      ...detail('Attempts', String(task.attempts)),
      ...(task.finishedAt
        ? detail('Took', duration(Date.parse(task.finishedAt) - Date.parse(task.createdAt)))
        : []),
      ...(task.rerunOf
        ? detail(
            'Rerun of',
            h('a', { href: `#/tasks/${task.rerunOf}` }, h('code', {}, shortId(task.rerunOf))),
          )
        : []),
      ...detail('Cancel requested', task.cancelRequested ? 'yes' : 'no'),
      ...(task.callback
        ? detail(
            'Callback',
            h('code', {}, task.callback.url),
            ` · ${task.callback.status}, ${task.callback.attempts} attempt(s)`,
            task.callback.lastError ? ` · ${task.callback.lastError}` : '',
          )
        : []),
    );
    renderWaiting();
    errorCard.hidden = !task.error;
    if (task.error) {
      errorText.replaceChildren(
        h('code', {}, task.error.code),
        ' ',
        task.error.message,
        ...(task.error.step ? [' (in step ', h('code', {}, task.error.step), ')'] : []),
      );
      errorText.title = failureText(task.error);
    }
  };

  /**
   * What a waiting task waits for, and for a signal the form that sends it (its schema from the task type). It holds
   * no worker meanwhile, so the page says so.
   */
  const renderWaiting = () => {
    const waiting = task.status === 'waiting' ? task.waiting : null;
    waitingCard.hidden = !waiting;
    if (!waiting) {
      formFor = undefined;
      waitingForm.replaceChildren();
      return;
    }
    waitingLine.textContent = `Waiting for ${waitingText(waiting)}. No worker is held meanwhile.`;
    if (waiting.kind !== 'signal' || formFor === waiting.name) return;
    formFor = waiting.name;
    api.taskTypes().then(
      (types) => {
        const schema = types.find((t) => t.type === task.type)?.signals?.[waiting.name];
        if (destroyed || formFor !== waiting.name || !schema) return;
        waitingForm.replaceChildren(
          signalForm(waiting.name, schema, async (payload) => {
            await api.signal(id, waiting.name, payload);
            notice.textContent = `Signal “${waiting.name}” sent.`;
          }),
        );
      },
      (err) => (notice.textContent = `The task types could not be read: ${err.message}`),
    );
  };

  const addEvent = (event) => {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    // Progress arrives many times a second: consecutive progress events share one timeline entry.
    if (event.type === 'progress' && lastProgressEntry) {
      lastProgressEntry.replaceChildren(...timelineContent(event));
      return;
    }
    const entry = h('li', { class: `event event-${event.type}` }, ...timelineContent(event));
    lastProgressEntry = event.type === 'progress' ? entry : undefined;
    timeline.append(entry);
    if (event.type === 'log') {
      noLogs.hidden = true;
      logs.append(
        h(
          'li',
          { class: `log log-${event.level}` },
          timeOf(event.at, false),
          h('span', { class: `level level-${event.level}` }, event.level),
          h('span', { class: 'log-message' }, event.message),
          event.data === undefined
            ? undefined
            : h('details', {}, h('summary', {}, 'Data'), h('pre', {}, JSON.stringify(event.data, null, 2))),
        ),
      );
    }
  };

  const timelineContent = (event) => [
    timeOf(event.at, false),
    ' ',
    event.type === 'status' ? statusBadge(event.status) : h('span', { class: 'event-type' }, event.type),
    ' ',
    h('span', { class: 'event-text' }, describeEvent(event)),
  ];

  const onEvent = (event) => {
    if (event.seq <= lastSeq) return;
    applyEvent(task, event);
    addEvent(event);
    render();
  };

  const loadResult = async () => {
    resultCard.hidden = false;
    resultBody.replaceChildren(h('p', {}, 'Loading the result…'));
    try {
      const result = await api.result(id);
      const json = JSON.stringify(result, null, 2);
      const cut = json.length > MAX_SHOWN_CHARS;
      const view = resultView(task.type, result);
      const pre = h(
        'pre',
        { class: 'result-json', tabindex: 0, 'aria-label': 'Result as JSON' },
        cut ? `${json.slice(0, MAX_SHOWN_CHARS)}\n…` : json,
      );
      const hint = cut
        ? h('p', { class: 'hint' }, 'The result is cut here; the download has all of it.')
        : undefined;
      // With a view of its own, the JSON is there on demand.
      resultBody.replaceChildren(
        ...(view
          ? [view, h('details', {}, h('summary', {}, 'The result as JSON'), pre, hint)]
          : [pre, hint]
        ).filter(Boolean),
      );
    } catch (err) {
      resultBody.replaceChildren(
        h('p', { class: 'form-error' }, `The result could not be read: ${err.message}`),
      );
    }
  };

  /** The steps as a timeline and a table; hidden while the task has none. */
  const loadSteps = async () => {
    stepsLoadedAt = Date.now();
    try {
      const { items } = await api.steps(id);
      if (destroyed) return;
      stepsCard.hidden = items.length === 0;
      if (items.length === 0) return;
      stepsBody.replaceChildren(
        stepTimeline(items),
        dataTable(
          'Steps',
          ['Step', 'Status', 'Attempts', 'Slice', 'Duration', 'Stored'],
          items.map((step) => [
            h('code', {}, step.name),
            statusBadge(step.status),
            step.attempts,
            step.slice ?? '—',
            step.durationMs === null
              ? '—'
              : step.durationMs < 1_000
                ? `${step.durationMs} ms`
                : duration(step.durationMs),
            step.storedBytes === null ? '—' : `${step.storedBytes.toLocaleString()} B`,
          ]),
        ),
      );
    } catch (err) {
      stepsCard.hidden = false;
      stepsBody.replaceChildren(
        h('p', { class: 'form-error' }, `The steps could not be read: ${err.message}`),
      );
    }
  };

  /** The task ended: its final state from the API, then its result; once, whether the stream or polling saw it. */
  const finish = () =>
    (finishing ??= (async () => {
      stream?.close();
      stream = undefined;
      task = await api.task(id);
      if (destroyed) return;
      render();
      await loadSteps();
      if (task.status === 'succeeded') await loadResult();
    })());

  /** While the stream is down: the task and any events since the last one seen. */
  const poll = async () => {
    const [current, page] = await Promise.all([api.task(id), api.events(id, lastSeq)]);
    if (destroyed) return;
    task = current;
    page.items.forEach(addEvent);
    render();
    if (FINISHED.has(task.status)) await finish();
  };

  const start = async () => {
    try {
      task = await api.task(id);
    } catch (err) {
      notice.textContent =
        err.status === 404 ? `There is no task ${id}.` : `The task could not be loaded: ${err.message}`;
      return;
    }
    render();
    api.input(id).then(
      (input) => (inputBody.textContent = JSON.stringify(input, null, 2)),
      (err) => (inputBody.textContent = `The input could not be read: ${err.message}`),
    );
    void loadSteps();
    for (let page = await api.events(id, 0); !destroyed; page = await api.events(id, lastSeq)) {
      page.items.forEach(addEvent);
      if (!page.nextCursor) break;
    }
    if (destroyed) return;
    if (FINISHED.has(task.status)) return finish();
    stream = new LiveStream({
      // EventSource sends Last-Event-ID itself on reconnect, which the server prefers to the query.
      url: () => streamUrl(`${taskEventsUrl(id)}?lastEventId=${lastSeq}`, id),
      on: {
        snapshot: (snapshot) => {
          task = snapshot;
          render();
        },
        status: onEvent,
        progress: onEvent,
        log: onEvent,
        end: () => finish(),
      },
      poll,
    });
    stream.start();
  };

  /** Runs an action of a button, disabled meanwhile so a second click cannot send it twice. */
  const act = async (button, action) => {
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      notice.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  };
  retryButton.addEventListener('click', () =>
    act(retryButton, async () => {
      await api.retry(id);
      // The same page, started over: the task is queued again, with a new stream.
      stream?.close();
      stream = undefined;
      finishing = undefined;
      notice.textContent = 'Retrying from the step that failed.';
      await start();
    }),
  );
  rerunButton.addEventListener('click', () =>
    act(rerunButton, async () => {
      const copy = await api.rerun(id);
      location.hash = `#/tasks/${copy.id}`;
    }),
  );

  cancelButton.addEventListener('click', () => {
    dialog.returnValue = '';
    dialog.showModal();
  });
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'cancel') return;
    try {
      task = await api.cancel(id);
      render();
      notice.textContent = task.status === 'cancelled' ? 'Cancelled.' : 'Cancellation requested.';
    } catch (err) {
      notice.textContent = err.status === 409 ? 'The task had already finished.' : err.message;
    }
  });

  start().catch((err) => (notice.textContent = `The task could not be loaded: ${err.message}`));
  return {
    element,
    tick: (now) => {
      if (!task) return;
      progress.tick(now);
      if (task.status === 'running' && now - stepsLoadedAt > STEPS_REFRESH_MS) void loadSteps();
    },
    destroy() {
      destroyed = true;
      stream?.close();
    },
  };
}
