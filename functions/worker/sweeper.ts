import type { InvocationContext, Timer } from '@azure/functions';
import { appServices } from '../app-services';

/** Queued this long without a message means the send after the commit failed. */
const UNSENT_SECONDS = 60;
/** Past the queue's duplicate-detection window (5 min), so a re-send is never dropped as a duplicate. */
const LOST_SECONDS = 10 * 60;
const BATCH = 100;
/** A webhook delivery this late lost its message (or its worker); a re-sent one gets this long to arrive. */
const CALLBACK_OVERDUE_SECONDS = 120;

/**
 * Timer trigger: re-drives what fell through. Queued tasks whose message never left are re-sent; running tasks
 * whose worker went silent and whose lease expired (process killed, continuation lost) get their next slice sent.
 * A task with a live lease is never touched. Completion webhooks whose delivery is overdue are sent again.
 */
export async function sweepTasks(_timer: Timer, context: InvocationContext): Promise<void> {
  const { repository, queue, checkpoints, settings, webhooks } = appServices();
  for (const task of await repository.staleQueued(UNSENT_SECONDS, LOST_SECONDS, BATCH)) {
    try {
      await queue.send({ taskId: task.id, slice: 0 });
      await repository.markEnqueued(task.id);
      context.log(`sweeper: re-sent queued task ${task.id}`);
    } catch (err) {
      context.warn(`sweeper: could not re-send task ${task.id}: ${String(err)}`);
    }
  }
  for (const task of await repository.staleRunning(
    settings.leaseSeconds + settings.heartbeatSeconds,
    BATCH,
  )) {
    try {
      const lease = await checkpoints.leaseState(task.id);
      if (lease.live) continue;
      // A message id of its own: the lost slice's message may still sit locked in the queue under the usual id.
      await queue.send(
        { taskId: task.id, slice: lease.nextSlice, attempt: Math.max(1, task.attempts) },
        { messageId: `${task.id}:${lease.nextSlice}:sweep:${task.heartbeatAt?.getTime() ?? 0}` },
      );
      await repository.heartbeat(task.id);
      context.log(`sweeper: re-drove running task ${task.id} at slice ${lease.nextSlice}`);
    } catch (err) {
      context.warn(`sweeper: could not re-drive task ${task.id}: ${String(err)}`);
    }
  }
  for (const task of await repository.takeOverdueCallbacks(
    CALLBACK_OVERDUE_SECONDS,
    CALLBACK_OVERDUE_SECONDS,
    BATCH,
  )) {
    try {
      await webhooks.resend(task);
      context.log(`sweeper: re-sent webhook delivery ${task.callbackAttempts + 1} of task ${task.id}`);
    } catch (err) {
      context.warn(`sweeper: could not re-send the webhook of task ${task.id}: ${String(err)}`);
    }
  }
}
