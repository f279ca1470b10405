import type { TaskEvent } from '../contract/api-schemas';
import type { TaskEventRow } from '../model/events';

/** An event as clients see it: the contract's type (functions/contract), so what streams send is what the API documents. */
export type EventJson = TaskEvent;

/** An event as clients see it (design §3): common fields plus the type's own. */
export function eventJson(row: TaskEventRow): EventJson {
  const base = { seq: row.seq, taskId: row.taskId, type: row.type, at: row.at.toISOString() };
  if (row.type === 'log') {
    return {
      ...base,
      level: row.level,
      message: row.message,
      ...(row.data === null ? {} : { data: row.data }),
    };
  }
  return { ...base, ...((row.data as Record<string, unknown> | null) ?? {}) };
}

/**
 * The Redis channels events are published on, under the deployment's REDIS_NAMESPACE: a task's, and its owner's for the
 * multiplexed stream.
 */
export interface EventChannels {
  task(taskId: string): string;
  owner(owner: string): string;
  /** Every owner's channel, for an admin's multiplexed stream (a Redis glob pattern). */
  allOwners: string;
}

/** The namespace holds no glob characters (settings), so the pattern matches this deployment's owners only. */
export function eventChannels(namespace: string): EventChannels {
  return {
    task: (taskId) => `${namespace}:task:${taskId}`,
    owner: (owner) => `${namespace}:owner:${owner}`,
    allOwners: `${namespace}:owner:*`,
  };
}
