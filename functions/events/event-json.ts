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

export const taskChannel = (taskId: string): string => `longhaul:task:${taskId}`;
export const ownerChannel = (owner: string): string => `longhaul:owner:${owner}`;
/** Every owner's channel, for an admin's multiplexed stream (a Redis glob pattern). */
export const ALL_OWNERS_PATTERN = 'longhaul:owner:*';
