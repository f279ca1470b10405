import type { Task, TaskStep } from '../longhaul-client';

const BAR_WIDTH = 30;

/** How far a task is, from its percent or else from its counts (current of total); null when it says neither. */
export function percentOf(progress: Task['progress']): number | null {
  if (!progress) return null;
  if (progress.percent !== null) return Math.max(0, Math.min(100, progress.percent));
  if (progress.current !== null && progress.total) {
    return Math.max(0, Math.min(100, Math.round((progress.current / progress.total) * 100)));
  }
  return null;
}

/** One line of progress, redrawn in place on a terminal: a bar when the share done is known, else the count. */
export function progressLine(task: Pick<Task, 'status' | 'progress'>): string {
  const percent = percentOf(task.progress);
  const message = task.progress?.message ?? '';
  if (percent === null) {
    const count = task.progress?.current ?? null;
    return `${task.status}${count === null ? '' : ` ${count} done`} ${message}`.trimEnd();
  }
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
  return `[${bar}] ${String(percent).padStart(3)}% ${task.status} ${message}`.trimEnd();
}

/** A duration as people read it: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function humanDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** How long a task ran (or has run, while unfinished), from its creation. */
export function taskDuration(task: Pick<Task, 'createdAt' | 'finishedAt'>, now = Date.now()): number {
  const end = task.finishedAt ? Date.parse(task.finishedAt) : now;
  return Math.max(0, end - Date.parse(task.createdAt));
}

/** The reason a task failed, in one line: its code, message and the step it failed in. */
export function failureReason(error: NonNullable<Task['error']>): string {
  return `${error.code}: ${error.message}${error.step ? ` (in step ${error.step})` : ''}`;
}

/** The last line of a watch: how the task ended, after how long, and why when it did not succeed. */
export function finalLine(task: Task): string {
  const took = humanDuration(taskDuration(task));
  if (task.status === 'succeeded') return `succeeded in ${took}`;
  const why = task.error ? `: ${failureReason(task.error)}` : '';
  return `${task.status} after ${took}${why}`;
}

/** One row of `ls`: id, type, status, duration, and the failure reason when it failed. */
export function listRow(task: Task, now = Date.now()): string {
  const reason = task.status === 'failed' && task.error ? `  ${failureReason(task.error)}` : '';
  const duration = humanDuration(taskDuration(task, now)).padStart(13);
  return `${task.id}  ${task.type.padEnd(10)} ${task.status.padEnd(9)} ${duration}${reason}`;
}

/** The steps as a table: name, status, attempts, slice, duration, stored size. */
export function stepsTable(steps: TaskStep[]): string {
  const rows = [
    ['STEP', 'STATUS', 'ATTEMPTS', 'SLICE', 'DURATION', 'STORED'],
    ...steps.map((s) => [
      s.name,
      s.status,
      String(s.attempts),
      s.slice === null ? '-' : String(s.slice),
      s.durationMs === null ? '-' : humanDuration(s.durationMs),
      s.storedBytes === null ? '-' : `${s.storedBytes} B`,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
