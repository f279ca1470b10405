import { isDeepStrictEqual } from 'node:util';
import type { TaskRow } from '../model/task';
import { describeError } from '../platform/describe-error';
import type { Log } from '../platform/logger';
import type { StoredSignal, TaskRepository } from '../storage/task-repository';
import type { TaskCatalog } from './catalog';
import { messageIds, type Dispatch } from './dispatch';
import type { FieldError } from './task-errors';
import { fieldErrors } from './task-service';

export interface SignalRequest {
  /** undefined: any owner's task (an admin, or the holder of a signal link). */
  owner: string | undefined;
  taskId: string;
  name: string;
  payload: unknown;
  /** Who sent it: a caller id, or `link` for a signal link. */
  sender: string;
  idempotencyKey: string | undefined;
}

export type SignalOutcome =
  | { kind: 'notFound' }
  /** The task's type declares no signal of that name. */
  | { kind: 'unknownSignal'; task: TaskRow; known: string[] }
  | { kind: 'invalid'; errors: FieldError[] }
  | { kind: 'finished'; task: TaskRow }
  /** A different signal of that name was kept before: the first one counts. */
  | { kind: 'conflict'; task: TaskRow; signal: StoredSignal }
  | { kind: 'delivered'; task: TaskRow; signal: StoredSignal; duplicate: boolean };

export interface TaskSignalsDeps {
  repository: Pick<TaskRepository, 'find' | 'deliverSignal'>;
  catalog: Pick<TaskCatalog, 'get'>;
  dispatch: Pick<Dispatch, 'wake'>;
  log: Log;
}

/**
 * Signals (POST /api/tasks/{id}/signals/{name}): checked against the schema the task type declares, kept (the first of
 * each name, whether or not the task waits for it yet), and, when the task waits for it, a message that wakes it.
 */
export class TaskSignals {
  constructor(private readonly deps: TaskSignalsDeps) {}

  async deliver(request: SignalRequest): Promise<SignalOutcome> {
    const { repository, catalog } = this.deps;
    const task = await repository.find(request.taskId, request.owner);
    if (!task) return { kind: 'notFound' };
    const signals = catalog.get(task.type)?.signals ?? {};
    const schema = signals[request.name];
    if (!schema) return { kind: 'unknownSignal', task, known: Object.keys(signals) };
    const parsed = schema.safeParse(request.payload);
    if (!parsed.success) return { kind: 'invalid', errors: fieldErrors(parsed.error, 'payload') };
    const delivery = await repository.deliverSignal(request.taskId, request.owner, {
      name: request.name,
      payload: request.payload,
      sender: request.sender,
      idempotencyKey: request.idempotencyKey ?? null,
    });
    switch (delivery.kind) {
      case 'notFound':
      case 'finished':
        return delivery;
      case 'exists': {
        const { signal } = delivery;
        const same =
          (request.idempotencyKey !== undefined && signal.idempotencyKey === request.idempotencyKey) ||
          isDeepStrictEqual(signal.payload, request.payload);
        return same
          ? { kind: 'delivered', task: delivery.task, signal, duplicate: true }
          : { kind: 'conflict', task: delivery.task, signal };
      }
      case 'stored':
        await this.wake(delivery.task, request.name);
        return { kind: 'delivered', task: delivery.task, signal: delivery.signal, duplicate: false };
    }
  }

  /**
   * Sends the message that ends the task's wait, when it waits for this signal. A send that fails is left to the
   * sweeper, which wakes a waiting task whose signal came and went unanswered.
   */
  private async wake(task: TaskRow, name: string): Promise<void> {
    const { waiting, wakeSlice } = task;
    if (
      task.status !== 'waiting' ||
      waiting?.kind !== 'signal' ||
      waiting.name !== name ||
      wakeSlice === null
    )
      return;
    await this.deps.dispatch
      .wake(task, wakeSlice, messageIds.signal(task.id, wakeSlice))
      .catch((err: unknown) =>
        this.deps.log(
          'warn',
          `waking the task for its signal failed, left to the sweeper: ${describeError(err)}`,
          {
            taskId: task.id,
            traceId: task.traceId,
          },
        ),
      );
  }
}
