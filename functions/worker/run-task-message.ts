import type { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, type AppServices } from '../app-services';
import { CONTAINERS } from '../storage/blob-store';
import type { TaskRow } from '../storage/task-repository';
import { PermanentError, type LogLevel, type TaskContext, type TaskProgress } from '../tasks/define-task';

const TaskMessageSchema = z.object({ taskId: z.uuid(), slice: z.number().int().min(0) });

/**
 * The Service Bus trigger, first cut: runs a task from start to end in one invocation and records how it ended.
 * (The durable engine replaces this with checkpointed slices.)
 */
export async function runTaskMessage(message: unknown, context: InvocationContext): Promise<void> {
  const services = appServices();
  const parsed = TaskMessageSchema.safeParse(typeof message === 'string' ? safeJson(message) : message);
  if (!parsed.success) {
    // Retrying cannot make a malformed message valid; completing it drops it.
    context.error(`dropped a message that is not a task reference: ${parsed.error.issues[0]?.message}`);
    return;
  }
  const task = await services.repository.markRunning(parsed.data.taskId);
  if (!task) {
    context.log(`task ${parsed.data.taskId} is finished or unknown; message completed`);
    return;
  }
  await runToEnd(services, task, context);
}

async function runToEnd(services: AppServices, task: TaskRow, context: InvocationContext): Promise<void> {
  const { repository, blobs, catalog } = services;
  const finish = async (
    status: 'succeeded' | 'failed' | 'cancelled',
    outcome: Parameters<typeof repository.finish>[2],
  ) => {
    const ended = await repository.finish(task.id, status, outcome);
    if (ended)
      await repository.appendEvent(task.id, {
        type: 'status',
        data: { status, error: outcome?.error ?? undefined },
      });
  };
  if (task.cancelRequested) return finish('cancelled', {});
  const definition = catalog.get(task.type);
  if (!definition)
    return finish('failed', { error: { code: 'unknown_type', message: `unknown task type ${task.type}` } });
  await repository.appendEvent(task.id, { type: 'status', data: { status: 'running' } });

  const cancel = new AbortController();
  let state: unknown;
  const ctx: TaskContext = {
    taskId: task.id,
    attempt: task.attempts,
    step: async (_name, fn) => fn(),
    get state() {
      return state;
    },
    checkpoint: async (next) => {
      state = next;
    },
    progress: (progress: TaskProgress) => {
      void repository.updateProgress(task.id, { ...progress }).then(
        ({ cancelRequested }) => cancelRequested && cancel.abort(new Error('cancelled')),
        (err: unknown) => context.warn(`task ${task.id}: progress not recorded: ${String(err)}`),
      );
    },
    log: (level: LogLevel, message: string, data?: unknown) => {
      void repository
        .appendEvent(task.id, { type: 'log', level, message, data })
        .catch((err: unknown) => context.warn(`task ${task.id}: log not recorded: ${String(err)}`));
    },
    signal: cancel.signal,
  };
  try {
    const input = definition.input.parse(await blobs.getJson(task.inputRef));
    const result = await definition.run(input, ctx);
    const resultRef = await blobs.putJson(
      CONTAINERS.results,
      `${task.id}.json`,
      Buffer.from(JSON.stringify(result ?? null)),
      true,
    );
    await finish('succeeded', { resultRef });
  } catch (err) {
    if (cancel.signal.aborted) return finish('cancelled', {});
    const error =
      err instanceof PermanentError
        ? { code: err.code, message: err.message }
        : { code: 'task_failed', message: err instanceof Error ? err.message : String(err) };
    context.warn(`task ${task.id} failed: ${error.message}`);
    await finish('failed', { error });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
