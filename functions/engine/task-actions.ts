import { createHash } from 'node:crypto';
import type { LiveEventPublisher } from '../events/redis-event-publisher';
import { ACTIVE_STATUSES, type TaskRow, type TaskStatus } from '../model/task';
import { isBlobNotFound, type BlobStore } from '../storage/blob-store';
import type { CheckpointStore } from '../storage/checkpoint-store';
import type { TaskFilter, TaskRepository } from '../storage/task-repository';
import { messageIds, type Dispatch } from './dispatch';
import type { SubmitOutcome, SubmitRequest, TaskService } from './task-service';

export interface TaskActionsDeps {
  tasks: Pick<TaskService, 'submit' | 'cancel'>;
  repository: TaskRepository;
  blobs: BlobStore;
  checkpoints: Pick<CheckpointStore, 'leaseState' | 'reopenTimedOutWaits'>;
  dispatch: Pick<Dispatch, 'enqueue'>;
  live: (owner: string) => LiveEventPublisher;
}

export type RetryOutcome =
  { kind: 'notFound' } | { kind: 'notFailed'; task: TaskRow } | { kind: 'requeued'; task: TaskRow };

export type RerunOutcome =
  { kind: 'notFound' } | { kind: 'inputGone'; task: TaskRow } | ({ kind: 'submitted' } & SubmitOutcome);

/** What a rerun's caller decides; the rest (owner, type, input, callback) comes from the original task. */
export type RerunRequest = Pick<SubmitRequest, 'idempotencyKey' | 'traceparent' | 'activeLimit'>;

export type BulkAction = 'cancel' | 'retry';

export interface BulkOutcome {
  action: BulkAction;
  /** Tasks the action was applied to (for a running task, cancel means its stop was requested). */
  affected: string[];
  /** Tasks that matched but changed meanwhile (finished, or retried by someone else), with their status then. */
  skipped: Array<{ id: string; status: TaskStatus | null }>;
  /** More tasks match: call again (those acted on no longer match: cancelling covers tasks not asked to stop yet). */
  more: boolean;
}

/** Which tasks each bulk action can act on. */
const ACTIONABLE: Record<BulkAction, readonly TaskStatus[]> = {
  cancel: ACTIVE_STATUSES,
  retry: ['failed'],
};

/** Tasks acted on at once in a bulk action: each is a few round trips, and the pool is shared with other requests. */
const BULK_CONCURRENCY = 8;

/** Acting on tasks that exist: retry a failed one from its last checkpoint, rerun one, cancel or retry by filter. */
export class TaskActions {
  constructor(private readonly deps: TaskActionsDeps) {}

  /**
   * Re-drives a failed task from its last checkpoint: back to `queued` with a fresh round of attempts, its events
   * recorded and published, and a message for the slice after the last one that ran, so the worker replays the
   * checkpoints and runs again only what did not complete (the failed step first). A failed send leaves the task queued
   * for the sweeper, as at submit. Its dead letters stay where they are, for an operator to inspect or remove.
   * `owner` undefined: any owner's task (admins).
   */
  async retry(owner: string | undefined, id: string, by: string): Promise<RetryOutcome> {
    const { repository, checkpoints, dispatch } = this.deps;
    const task = await repository.find(id, owner);
    if (!task) return { kind: 'notFound' };
    if (task.status !== 'failed') return { kind: 'notFailed', task };
    // A wait that timed out waits again: replaying its timeout would fail the retry at once.
    if (task.error?.code === 'signal_timeout') await checkpoints.reopenTimedOutWaits(id);
    const { nextSlice } = await checkpoints.leaseState(id);
    const events = await repository.requeueFailed(id, {
      message: `retried by ${by} after failing: ${task.error?.code ?? 'unknown'}; resuming at slice ${nextSlice}`,
      data: { retriedBy: by, previousError: task.error, previousAttempts: task.attempts, slice: nextSlice },
    });
    if (!events) {
      const current = await repository.find(id, owner);
      return current ? { kind: 'notFailed', task: current } : { kind: 'notFound' };
    }
    const publisher = this.deps.live(task.owner);
    for (const event of events) publisher.publish(event);
    // A message id of its own: the ids of earlier sends of this slice may still be in the duplicate window.
    await dispatch.enqueue(
      task,
      { taskId: id, slice: nextSlice, attempt: 1 },
      { messageId: messageIds.retry(id, nextSlice, new Date()) },
    );
    const requeued = await repository.find(id, owner);
    return requeued ? { kind: 'requeued', task: requeued } : { kind: 'notFound' };
  }

  /**
   * Submits a new task with the original's type, input and callback URL, owned by the original's owner (an admin's
   * rerun is on that owner's behalf) and linked to it by `rerunOf`. The input is checked again against the type's
   * schema as it is now. With an Idempotency-Key, a repeat of the same rerun returns the task it made.
   */
  async rerun(owner: string | undefined, id: string, request: RerunRequest): Promise<RerunOutcome> {
    const original = await this.deps.repository.find(id, owner);
    if (!original) return { kind: 'notFound' };
    let input: unknown;
    try {
      input = await this.deps.blobs.getJson(original.inputRef);
    } catch (err) {
      if (isBlobNotFound(err)) return { kind: 'inputGone', task: original };
      throw err;
    }
    const outcome = await this.deps.tasks.submit({
      ...request,
      owner: original.owner,
      type: original.type,
      input,
      callbackUrl: original.callbackUrl ?? undefined,
      maxDurationSeconds: original.maxDurationSeconds ?? undefined,
      requestHash: createHash('sha256').update(`rerun:${id}`).digest('hex'),
      rerunOf: id,
    });
    return { kind: 'submitted', ...outcome };
  }

  /**
   * Cancels or retries, oldest first, up to `limit` of the tasks the filter covers that the action applies to (cancel:
   * queued and running; retry: failed). Each task goes through the single-task action, with its events and webhooks.
   */
  async bulk(action: BulkAction, filter: TaskFilter, limit: number, by: string): Promise<BulkOutcome> {
    // A running task asked to stop still runs until its next step: it is not matched again.
    const ids = await this.deps.repository.idsIn(filter, ACTIONABLE[action], limit + 1, action === 'cancel');
    const chosen = ids.slice(0, limit);
    const outcome: BulkOutcome = { action, affected: [], skipped: [], more: ids.length > limit };
    const act = async (id: string) => {
      const result =
        action === 'cancel'
          ? await this.deps.tasks.cancel(filter.owner, id)
          : await this.retry(filter.owner, id, by);
      if (result.kind === 'requested' || result.kind === 'requeued') outcome.affected.push(id);
      else outcome.skipped.push({ id, status: result.kind === 'notFound' ? null : result.task.status });
    };
    for (let i = 0; i < chosen.length; i += BULK_CONCURRENCY) {
      await Promise.all(chosen.slice(i, i + BULK_CONCURRENCY).map(act));
    }
    const order = new Map(chosen.map((id, i) => [id, i]));
    outcome.affected.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    return outcome;
  }
}
