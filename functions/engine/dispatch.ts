import { withDeadline } from '../platform/deadline';
import type { SendOptions as QueueSendOptions, TaskQueue } from '../messaging/task-queue';
import type { SliceMessageToSend, WebhookMessage } from '../model/messages';
import type { TaskRow } from '../model/task';
import type { Log } from '../platform/logger';
import { describeError } from '../platform/describe-error';
import type { TaskRepository } from '../storage/task-repository';

/**
 * Message ids on the tasks queue. Service Bus drops a message whose id it saw in the last 5 minutes (duplicate
 * detection), so a re-send of the same slice or delivery is one message; a send that must not be dropped as a
 * duplicate of an earlier one (a re-check, a sweeper re-drive, an admin retry) gets an id of its own.
 */
export const messageIds = {
  slice: (taskId: string, slice: number) => `${taskId}:${slice}`,
  /** A lease re-check, one per second of its due time. */
  recheck: (taskId: string, slice: number, at: Date) =>
    `${taskId}:${slice}:recheck:${Math.floor(at.getTime() / 1000)}`,
  /** The sweeper's re-drive of a running task, one per heartbeat it found silent. */
  sweep: (taskId: string, slice: number, heartbeatAt: Date | null) =>
    `${taskId}:${slice}:sweep:${heartbeatAt?.getTime() ?? 0}`,
  /** A signal's wake-up of the task waiting for it (the timeout's message has the slice's usual id). */
  signal: (taskId: string, slice: number) => `${taskId}:${slice}:signal`,
  /** An operator's retry of a failed task. */
  retry: (taskId: string, slice: number, at: Date) => `${taskId}:${slice}:retry:${at.getTime()}`,
  webhook: (taskId: string, attempt: number) => `${taskId}:webhook:${attempt}`,
  /** The sweeper's re-send of an overdue delivery, one per due time it found passed. */
  webhookSweep: (taskId: string, attempt: number, dueAt: Date | null) =>
    `${taskId}:webhook:${attempt}:sweep:${dueAt?.getTime() ?? 0}`,
};

/** How long a running task's worker may be silent before its task counts as stalled: a lease and a heartbeat. */
export function stallSeconds(settings: { leaseSeconds: number; heartbeatSeconds: number }): number {
  return settings.leaseSeconds + settings.heartbeatSeconds;
}

/** What a sender chooses; the trace comes from the task. */
export type SendOptions = Omit<QueueSendOptions, 'traceparent'>;

/** The tasks queue's protocol: which message, with which id, and what happens when a send fails. */
export class Dispatch {
  constructor(
    private readonly queue: Pick<TaskQueue, 'send'>,
    private readonly repository: Pick<TaskRepository, 'markEnqueued'>,
    private readonly log: Log,
  ) {}

  /** A slice of the task or a delivery of its webhook; the message carries the task's trace. */
  send(
    task: Pick<TaskRow, 'traceContext'>,
    message: SliceMessageToSend | WebhookMessage,
    options: SendOptions,
  ): Promise<void> {
    return this.queue.send(message, { ...options, traceparent: task.traceContext });
  }

  /** The message that ends a waiting task's wait: the slice it waits to run, with an id of the caller's choosing. */
  wake(
    task: Pick<TaskRow, 'id' | 'traceContext' | 'attempts'>,
    slice: number,
    messageId: string,
  ): Promise<void> {
    return this.send(task, { taskId: task.id, slice, attempt: Math.max(1, task.attempts) }, { messageId });
  }

  /**
   * Sends a queued task's slice and records that it left. A send that fails leaves the task queued with no record, and
   * the sweeper sends it (SWEEP_UNSENT_SECONDS): so a broker that does not answer delays the task, it never loses it.
   * Answers whether the message left.
   */
  async enqueue(
    task: Pick<TaskRow, 'id' | 'traceContext' | 'traceId'>,
    message: SliceMessageToSend,
    options: SendOptions,
  ): Promise<boolean> {
    try {
      await this.send(task, message, options);
      // Bounded as the send is: left unmarked, the task's message is sent again by the sweeper (same message id).
      const mark = () => this.repository.markEnqueued(task.id);
      await (options.timeoutMs === undefined ? mark() : withDeadline('Postgres', options.timeoutMs, mark));
      return true;
    } catch (err) {
      this.log(
        'warn',
        `send to the queue failed or was not recorded, left queued for the sweeper: ${describeError(err)}`,
        {
          taskId: task.id,
          traceId: task.traceId,
        },
      );
      return false;
    }
  }
}
