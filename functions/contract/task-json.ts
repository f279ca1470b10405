import type { TaskRow } from '../model/task';
import type { Task } from './api-schemas';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** A task as the API shows it (design §2). */
export function taskJson(row: TaskRow): Task {
  const self = `/api/tasks/${row.id}`;
  const p = row.progress;
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    progress: p
      ? {
          percent: (p.percent as number | undefined) ?? null,
          current: (p.current as number | undefined) ?? null,
          total: (p.total as number | undefined) ?? null,
          message: (p.message as string | undefined) ?? null,
          step: (p.step as string | undefined) ?? null,
        }
      : null,
    attempts: row.attempts,
    cancelRequested: row.cancelRequested,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: iso(row.finishedAt),
    links: {
      self,
      events: `${self}/events`,
      result: `${self}/result`,
      cancel: self,
      input: `${self}/input`,
      steps: `${self}/steps`,
    },
    callback: row.callbackUrl
      ? {
          url: row.callbackUrl,
          status: row.callbackState ?? 'waiting',
          attempts: row.callbackAttempts,
          lastError: row.callbackError,
        }
      : null,
    rerunOf: row.rerunOf,
    waiting: row.waiting,
    maxDurationSeconds: row.maxDurationSeconds,
  };
}
