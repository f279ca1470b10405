/** A task's history (design §3): the events as stored, with no I/O. */

export const EVENT_TYPES = ['status', 'progress', 'log'] as const;
export type TaskEventType = (typeof EVENT_TYPES)[number];

export interface TaskEventRow {
  taskId: string;
  seq: number;
  at: Date;
  type: TaskEventType;
  level: string | null;
  message: string | null;
  data: unknown;
}
