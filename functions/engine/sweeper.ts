import { describeError } from '../platform/describe-error';
import { appMetrics } from '../platform/metrics';
import { messageIds, stallSeconds } from './dispatch';
import type { EnginePorts } from './ports';
import type { TaskRow } from '../model/task';

/** Past the queue's duplicate-detection window (5 min), so a re-send is never dropped as a duplicate. */
const LOST_SECONDS = 10 * 60;
const BATCH = 100;
/** A webhook delivery this late lost its message (or its worker); a re-sent one gets this long to arrive. */
const CALLBACK_OVERDUE_SECONDS = 120;

/**
 * Re-drives what fell through (the sweepTasks timer runs it every minute). Queued tasks whose message never left are
 * re-sent; running tasks whose worker went silent and whose lease expired (process killed, continuation lost) get
 * their next slice sent, counted against MAX_TAKEOVERS; waiting tasks whose wake-up is long overdue get it sent.
 * A task with a live lease is never touched. Completion webhooks whose delivery is overdue are sent again. Each
 * re-drive is counted by reason, and the oldest queued task's age is recorded at every run (the alerts' inputs).
 */
export async function sweep(ports: EnginePorts): Promise<void> {
  const { tasks, callbacks, dispatch, checkpoints, settings, webhooks, log: write } = ports;
  // Each line names its task, and carries the task's trace id: the sweeper's own span is a trace of its own.
  const log = (level: 'info' | 'warn', task: TaskRow, message: string) =>
    write(level, `sweeper: ${message}`, { taskId: task.id, traceId: task.traceId });
  const redrives = appMetrics().sweeperRedrives;
  const oldest = await tasks.oldestQueued();
  appMetrics().oldestQueuedAge.record(
    oldest ? Math.max(0, (Date.now() - oldest.createdAt.getTime()) / 1000) : 0,
  );
  for (const task of await tasks.staleQueued(settings.sweepUnsentSeconds, LOST_SECONDS, BATCH)) {
    try {
      // Slice 0, unless it ran already: a retry puts a failed task back to queued at a later slice.
      const { nextSlice } = await checkpoints.leaseState(task.id);
      const message = { taskId: task.id, slice: nextSlice };
      const sent = await dispatch.enqueue(task, message, { messageId: messageIds.slice(task.id, nextSlice) });
      if (sent) {
        redrives.add(1, { reason: task.enqueuedAt ? 'lost' : 'unsent' });
        log('info', task, 're-sent a queued task');
      }
    } catch (err) {
      log('warn', task, `could not re-send a queued task: ${describeError(err)}`);
    }
  }
  for (const task of await tasks.staleRunning(stallSeconds(settings), BATCH)) {
    try {
      const lease = await checkpoints.leaseState(task.id);
      if (lease.live) continue;
      // A message id of its own: the lost slice's message may still sit locked in the queue under the usual id.
      await dispatch.send(
        task,
        { taskId: task.id, slice: lease.nextSlice, attempt: Math.max(1, task.attempts) },
        { messageId: messageIds.sweep(task.id, lease.nextSlice, task.heartbeatAt) },
      );
      await tasks.markRedriven(task.id);
      redrives.add(1, { reason: 'stalled' });
      log('info', task, `re-drove a running task at slice ${lease.nextSlice}`);
    } catch (err) {
      log('warn', task, `could not re-drive a running task: ${describeError(err)}`);
    }
  }
  // A wake-up this late was never sent (its worker died first) or was lost, or its signal's was. Sending one more is
  // harmless when the first is only slow (a backlog): whichever comes second finds the slice run.
  for (const task of await tasks.overdueWaiting(stallSeconds(settings), BATCH)) {
    try {
      const slice = task.wakeSlice ?? (await checkpoints.leaseState(task.id)).nextSlice;
      await dispatch.wake(task, slice, messageIds.sweep(task.id, slice, task.wakeAt));
      redrives.add(1, { reason: 'wake' });
      log('info', task, `woke a waiting task at slice ${slice}`);
    } catch (err) {
      log('warn', task, `could not wake a waiting task: ${describeError(err)}`);
    }
  }
  for (const task of await callbacks.takeOverdue(CALLBACK_OVERDUE_SECONDS, CALLBACK_OVERDUE_SECONDS, BATCH)) {
    try {
      await webhooks.resend(task);
      redrives.add(1, { reason: 'webhook' });
      log('info', task, `re-sent webhook delivery ${task.callbackAttempts + 1}`);
    } catch (err) {
      log('warn', task, `could not re-send the webhook: ${describeError(err)}`);
    }
  }
}
