/** Tasks and events as the API sends them (docs/api.md, docs/streaming.md), and what the page derives from them. */

export const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];
export const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/** The task after one event of its stream: status and progress change in place; the rest comes with the Task. */
export function applyEvent(task, event) {
  if (event.type === 'progress') {
    const { percent = null, current = null, total = null, message = null, step = null } = event;
    task.progress = { percent, current, total, message, step };
  } else if (event.type === 'status') {
    task.status = event.status;
    task.waiting = event.status === 'waiting' ? (event.waiting ?? null) : null;
    if (event.error) task.error = event.error;
    if (event.status === 'running') task.startedAt ??= event.at;
    if (FINISHED.has(event.status)) task.finishedAt ??= event.at;
  }
  task.updatedAt = event.at;
  return task;
}

/** 0..100, from `percent` or from `current` of `total`; undefined when the task says neither. */
export function percentOf(progress) {
  if (typeof progress?.percent === 'number') return Math.max(0, Math.min(100, progress.percent));
  if (typeof progress?.current === 'number' && progress.total)
    return (100 * progress.current) / progress.total;
  return undefined;
}

/** Time since the task started (or was created, while queued), up to when it finished. */
export function elapsedMs(task, now) {
  const start = Date.parse(task.startedAt ?? task.createdAt);
  const end = task.finishedAt ? Date.parse(task.finishedAt) : now;
  return Math.max(0, end - start);
}

/** The rest of a running task at its average rate so far: remaining percent ÷ (percent done ÷ time running). */
export function etaMs(task, now) {
  const percent = percentOf(task.progress);
  if (task.status !== 'running' || !task.startedAt || !percent || percent >= 100) return undefined;
  return ((now - Date.parse(task.startedAt)) / percent) * (100 - percent);
}

/** "0.4 s", "12 s", "3 min 05 s", "1 h 02 min". */
export function duration(ms) {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "42% · step 5 of 12" */
export function progressText(progress) {
  const percent = percentOf(progress);
  const parts = [];
  if (percent !== undefined) parts.push(`${Math.round(percent)}%`);
  if (progress?.message) parts.push(progress.message);
  else if (typeof progress?.current === 'number' && progress.total) {
    parts.push(`${progress.current} of ${progress.total}`);
  }
  return parts.join(' · ');
}

/** One line for the timeline, besides its time and type (a status shows as a badge: the line adds the error). */
export function describeEvent(event) {
  if (event.type === 'status' && event.waiting) return waitingText(event.waiting);
  if (event.type === 'status') return event.error ? `${event.error.code}: ${event.error.message}` : '';
  if (event.type === 'progress') return progressText(event) || 'progress';
  return event.message ?? '';
}

export const shortId = (id) => id.slice(0, 8);

/** Why a task failed, in one line: its code, message and the step it failed in. */
export function failureText(error) {
  return `${error.code}: ${error.message}${error.step ? ` (in step ${error.step})` : ''}`;
}

/** What a waiting task waits for, in words: "the signal “decision”, until 12/7/2026, 3:00:00 PM". */
export function waitingText(waiting) {
  const what = waiting.kind === 'sleep' ? `sleeping (${waiting.name})` : `the signal “${waiting.name}”`;
  return waiting.until ? `${what}, until ${new Date(waiting.until).toLocaleString()}` : what;
}
