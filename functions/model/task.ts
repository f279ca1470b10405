/** A task's vocabulary (design §2): statuses and the stored row, with no I/O. */

export const TASK_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/**
 * A task in one of these may still change: a worker may pick it up, is running it, or will when its wait ends (a
 * waiting task holds no worker).
 */
export const ACTIVE_STATUSES = ['queued', 'running', 'waiting'] as const satisfies readonly TaskStatus[];
/** Active and holding or about to hold a worker: what MAX_ACTIVE_TASKS_PER_CALLER counts. */
export const RUNNABLE_STATUSES = ['queued', 'running'] as const satisfies readonly TaskStatus[];
/** Terminal: a task that reached one of these keeps it. */
export const FINISHED_STATUSES = [
  'succeeded',
  'failed',
  'cancelled',
] as const satisfies readonly TaskStatus[];
export type FinishedStatus = (typeof FINISHED_STATUSES)[number];

export function isFinished(status: string): status is FinishedStatus {
  return (FINISHED_STATUSES as readonly string[]).includes(status);
}

/** A task id's canonical text, as the lowest id: lower-case hex digits (here 0) and dashes. */
export const UUID_SHAPE = '00000000-0000-0000-0000-000000000000';

/** Whether `prefix` starts a task id's canonical text (what a filter's `idPrefix` takes). */
export function isIdPrefix(prefix: string): boolean {
  return (
    prefix.length > 0 &&
    prefix.length <= UUID_SHAPE.length &&
    [...prefix].every((c, i) => (UUID_SHAPE[i] === '-' ? c === '-' : /[0-9a-f]/.test(c)))
  );
}

/** What a waiting task waits for (design §8): `until` is when the wait ends by itself (a sleep's end, a timeout). */
export interface Waiting {
  kind: 'sleep' | 'signal';
  name: string;
  until: string | null;
}

/** Why a task failed, as the API shows it. */
export interface TaskError {
  code: string;
  message: string;
  /** The step that was running when the task failed, when one was. */
  step?: string;
}

export type CallbackState = 'pending' | 'delivered' | 'failed';

/** What one webhook delivery attempt came to. */
export type CallbackOutcome =
  | { state: 'delivered' }
  | { state: 'pending'; dueAt: Date; error: string }
  | { state: 'failed'; error: string };

export interface TaskRow {
  id: string;
  type: string;
  status: TaskStatus;
  owner: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  inputRef: string;
  inputBytes: number;
  resultRef: string | null;
  progress: Record<string, unknown> | null;
  error: TaskError | null;
  attempts: number;
  cancelRequested: boolean;
  traceId: string | null;
  /** W3C traceparent of the submit span, sent on every message of the task (null for tasks from before it was kept). */
  traceContext: string | null;
  createdAt: Date;
  startedAt: Date | null;
  updatedAt: Date;
  finishedAt: Date | null;
  heartbeatAt: Date | null;
  enqueuedAt: Date | null;
  callbackUrl: string | null;
  /** null until the task ends; then the completion webhook's delivery state. */
  callbackState: CallbackState | null;
  callbackAttempts: number;
  callbackDueAt: Date | null;
  callbackError: string | null;
  /** The task this one reruns (POST /api/tasks/{id}/rerun). */
  rerunOf: string | null;
  /** Set while the task is `waiting`. */
  waiting: Waiting | null;
  /** When the message that ends the wait is due (a sleep's end, a timeout, or the task's deadline). */
  wakeAt: Date | null;
  /** The slice that message runs. */
  wakeSlice: number | null;
  /** The task fails with max_duration_exceeded this long after it started. */
  maxDurationSeconds: number | null;
  /** Times the sweeper re-drove it after its worker went silent. */
  redrives: number;
}
