import type { InvocationContext, Timer } from '@azure/functions';
import { appServices } from '../app-services';

/** Queued this long without a message means the send after the commit failed. */
const UNSENT_SECONDS = 60;
/** Past the queue's duplicate-detection window (5 min), so a re-send is never dropped as a duplicate. */
const LOST_SECONDS = 10 * 60;
const BATCH = 100;

/** Timer trigger: re-sends tasks that were accepted but whose message never reached the queue. */
export async function sweepTasks(_timer: Timer, context: InvocationContext): Promise<void> {
  const { repository, queue } = appServices();
  const stale = await repository.staleQueued(UNSENT_SECONDS, LOST_SECONDS, BATCH);
  for (const task of stale) {
    try {
      await queue.send({ taskId: task.id, slice: 0 });
      await repository.markEnqueued(task.id);
      context.log(`sweeper: re-sent queued task ${task.id}`);
    } catch (err) {
      context.warn(`sweeper: could not re-send task ${task.id}: ${String(err)}`);
    }
  }
}
